import GraftCore

extension PickleInterpreter {
    /// Executes `opcode` (anything but STOP). Reads past the end throw `ByteReaderError`, which
    /// `run` reports as `truncated`.
    mutating func execute() throws {
        guard let op = PickleOpcode(rawValue: opcode) else {
            throw PickleError.unsupportedOpcode(offset: opOffset, opcode: opcode)
        }
        switch op {
        // Framing and protocol
        case .proto:
            let version = Int(try reader.u8())
            guard version <= 5 else {
                throw PickleError.unsupportedProtocol(offset: opOffset, version: version)
            }
            proto = version
        case .frame:
            // Frames only group opcodes for buffered reading; the length must still be honest.
            guard let length = Int(exactly: try reader.u64LE()), length <= reader.remaining else {
                throw PickleError.truncated(offset: opOffset, opcode: opName)
            }
        case .stop:
            break  // handled by `run`

        // Stack manipulation
        case .mark: try pushMark()
        case .pop: try popOrCloseMark()
        case .popMark: _ = try popMark()
        case .dup: push(try top())

        // Scalars
        case .none: push(.none)
        case .newTrue: push(.bool(true))
        case .newFalse: push(.bool(false))
        case .int: push(try textInt())
        case .long: push(try textLong())
        case .binInt: push(.int(Int(try reader.i32LE())))
        case .binInt1: push(.int(Int(try reader.u8())))
        case .binInt2: push(.int(Int(try reader.u16LE())))
        case .long1: push(try binaryLong(length: Int(try reader.u8())))
        case .long4: push(try binaryLong(length: Int(try reader.i32LE())))
        case .float: push(try textFloat())
        case .binFloat: push(.float(try reader.f64BE()))

        // Text and bytes
        case .string: push(try quotedString())
        case .binString: push(try byteString(length: Int(try reader.i32LE())))
        case .shortBinString: push(try byteString(length: Int(try reader.u8())))
        case .unicode: push(try rawUnicodeString())
        case .binUnicode: push(try unicode(length: try u32AsInt()))
        case .shortBinUnicode: push(try unicode(length: Int(try reader.u8())))
        case .binUnicode8: push(try unicode(length: try length64()))
        case .binBytes: push(.bytes(try payload(length: try u32AsInt())))
        case .shortBinBytes: push(.bytes(try payload(length: Int(try reader.u8()))))
        case .binBytes8: push(.bytes(try payload(length: try length64())))

        // Containers
        case .emptyTuple: try pushTuple([])
        case .tuple1, .tuple2, .tuple3:
            let n = Int(op.rawValue - PickleOpcode.tuple1.rawValue) + 1
            guard stack.count - fence >= n else {
                throw malformed("\(opName) needs \(n) values on the stack, found \(stack.count - fence)")
            }
            let items = Array(stack[(stack.count - n)...])
            stack.removeLast(n)
            try pushTuple(items)
        case .tuple: try pushTuple(try popMark())
        case .emptyList: push(newObject(PickleObject(.list, items: [], offset: opOffset)))
        case .list: try pushList(try popMark())
        case .append: try append([try pop()])
        case .appends:
            let items = try popMark()
            try append(items)
        case .emptyDict: push(newObject(PickleObject(.dict, items: [], offset: opOffset)))
        case .dict: try pushDict(try popMark())
        case .setItem:
            let value = try pop()
            let key = try pop()
            try setItems([key, value])
        case .setItems: try setItems(try popMark())
        case .emptySet: push(newObject(PickleObject(.set, items: [], offset: opOffset)))
        case .addItems: try addItems(try popMark())
        case .frozenSet: try pushSet(try popMark(), frozen: true)

        // Globals, calls, objects
        case .global: try pushGlobalFromLines()
        case .stackGlobal: try pushStackGlobal()
        case .reduce: try reduce()
        case .newObj: try newObj(withKeywords: false)
        case .newObjEx: try newObj(withKeywords: true)
        case .build: try build()
        case .persID: try persistentIDFromLine()
        case .binPersID: push(newObject(PickleObject(.persistentID, items: [try pop()], offset: opOffset)))

        // Memo
        case .put: try memoPut(try decimalIndex())
        case .binPut: try memoPut(Int(try reader.u8()))
        case .longBinPut: try memoPut(try u32AsInt())
        case .memoize: try memoPut(memo.count)
        case .get: try memoGet(try decimalIndex())
        case .binGet: try memoGet(Int(try reader.u8()))
        case .longBinGet: try memoGet(try u32AsInt())

        // Refused on purpose: class instantiation by protocol-0/1 opcodes, the extension
        // registry, and out-of-band buffers.
        case .inst, .obj, .ext1, .ext2, .ext4, .byteArray8, .nextBuffer, .readonlyBuffer:
            throw PickleError.unsupportedOpcode(offset: opOffset, opcode: opcode)
        }
    }

    /// POP, with CPython's rule that POP right after MARK removes the MARK.
    private mutating func popOrCloseMark() throws {
        if let mark = marks.last, mark == stack.count {
            marks.removeLast()
        } else {
            _ = try pop()
        }
    }

    /// A u64 length field as `Int`; one beyond `Int` cannot be present, so it is a truncation.
    private mutating func length64() throws -> Int {
        guard let n = Int(exactly: try reader.u64LE()) else {
            throw PickleError.truncated(offset: opOffset, opcode: opName)
        }
        return n
    }

    /// A u32 field as `Int` (always exact on the 64-bit platforms Graft supports).
    private mutating func u32AsInt() throws -> Int {
        guard let n = Int(exactly: try reader.u32LE()) else {
            throw PickleError.truncated(offset: opOffset, opcode: opName)
        }
        return n
    }

    // MARK: - Memo

    private mutating func memoPut(_ index: Int) throws {
        let value = try top()
        if memo.updateValue(value, forKey: index) == nil, memo.count > limits.maxMemoEntries {
            throw limitExceeded(.memoEntries)
        }
    }

    private mutating func memoGet(_ index: Int) throws {
        guard let value = memo[index] else {
            throw PickleError.badMemoReference(offset: opOffset, index: index)
        }
        push(value)
    }

    /// The argument of PUT/GET: a non-negative decimal line.
    private mutating func decimalIndex() throws -> Int {
        let text = try line()
        guard case .int(let index) = try? PickleInteger.node(decimal: text), index >= 0 else {
            throw malformed("\(opName) needs a non-negative decimal memo index")
        }
        return index
    }
}

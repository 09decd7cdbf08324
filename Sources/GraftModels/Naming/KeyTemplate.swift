import Foundation

/// A state-dict key with numbered slots, readable in both directions: `stages.{s}.blocks.{b}.norm.{*}`
/// matches `stages.2.blocks.1.norm.weight` with s = 2, b = 1 and the rest `weight`, and renders again
/// from those values. A slot is `{*}` (the rest of the key, last) or an index `{v}`, `{v+1}`, `{v-1}`,
/// `{2v}`, `{2v+1}` — a scale and an offset of one variable, so a pair of templates is a rename that
/// runs both ways (timm's `stages.{s}` is torchvision's `features.{2s+1}`).
struct KeyTemplate: Sendable {
    enum Piece: Sendable, Equatable {
        case literal(String)
        case index(variable: Character, scale: Int, offset: Int)
        case rest
    }

    let text: String
    let pieces: [Piece]

    init(_ text: String) {
        self.text = text
        var pieces: [Piece] = []
        var literal = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{"), let close = rest[open...].firstIndex(of: "}") {
            literal += rest[..<open]
            if !literal.isEmpty { pieces.append(.literal(literal)); literal = "" }
            pieces.append(Self.slot(rest[rest.index(after: open)..<close]))
            rest = rest[rest.index(after: close)...]
        }
        literal += rest
        if !literal.isEmpty { pieces.append(.literal(literal)) }
        self.pieces = pieces
    }

    /// `*`, or `[scale]variable[±offset]`. The templates are constants of the rule tables: a malformed
    /// one is a programming error.
    private static func slot(_ body: Substring) -> Piece {
        if body == "*" { return .rest }
        let scaleDigits = body.prefix { $0.isNumber }
        var after = body.dropFirst(scaleDigits.count)
        guard let variable = after.first, variable.isLetter else { fatalError("bad key template slot {\(body)}") }
        after = after.dropFirst()
        let offset = after.isEmpty ? 0 : Int(after.hasPrefix("+") ? after.dropFirst() : after)
        guard let offset else { fatalError("bad key template slot {\(body)}") }
        return .index(variable: variable, scale: Int(scaleDigits) ?? 1, offset: offset)
    }

    /// The variables and the rest `key` binds, or nil when it does not have this template's form.
    func match(_ key: String) -> (values: [Character: Int], rest: String)? {
        var values: [Character: Int] = [:]
        var restValue = ""
        var position = Substring(key)
        for (i, piece) in pieces.enumerated() {
            switch piece {
            case .literal(let s):
                guard position.hasPrefix(s) else { return nil }
                position = position.dropFirst(s.count)
            case .rest:
                // The rest is everything left, never empty; nothing may follow it.
                guard i == pieces.count - 1, !position.isEmpty else { return nil }
                restValue = String(position)
                position = ""
            case .index(let v, let scale, let offset):
                let digits = position.prefix { $0.isASCII && $0.isNumber }
                guard !digits.isEmpty, digits.count <= 9, let n = Int(digits) else { return nil }
                position = position.dropFirst(digits.count)
                let shifted = n - offset
                guard shifted >= 0, shifted % scale == 0 else { return nil }
                let value = shifted / scale
                if let seen = values[v], seen != value { return nil }
                values[v] = value
            }
        }
        return position.isEmpty ? (values, restValue) : nil
    }

    /// The key for `values` and `rest`; nil when a variable is unbound or an index would be negative.
    func render(_ values: [Character: Int], rest: String) -> String? {
        var out = ""
        for piece in pieces {
            switch piece {
            case .literal(let s): out += s
            case .rest: out += rest
            case .index(let v, let scale, let offset):
                guard let value = values[v], scale * value + offset >= 0 else { return nil }
                out += String(scale * value + offset)
            }
        }
        return out
    }
}

/// One correspondence between a foreign key and Graft's: two templates over the same variables, and
/// how the tensor's shape differs (timm's 1×1 `conv_head` is torchvision's Linear: two trailing 1s more;
/// ConvNeXt's `gamma` [C] is `layer_scale` [C, 1, 1]: two fewer).
struct KeyRule: Sendable {
    let foreign: KeyTemplate
    let graft: KeyTemplate
    /// How many trailing 1-dimensions the foreign tensor has more than Graft's (negative: fewer).
    let foreignExtraDims: Int

    init(_ foreign: String, _ graft: String, foreignExtraDims: Int = 0) {
        self.foreign = KeyTemplate(foreign)
        self.graft = KeyTemplate(graft)
        self.foreignExtraDims = foreignExtraDims
    }

    /// The shape on the other side: trailing 1s added or removed; nil when the dimensions to remove
    /// are not 1s (the tensor is not what the rule is about).
    static func reshaped(_ shape: [Int], addingOnes count: Int) -> [Int]? {
        if count >= 0 { return shape + Array(repeating: 1, count: count) }
        guard shape.count >= -count, shape.suffix(-count).allSatisfy({ $0 == 1 }) else { return nil }
        return Array(shape.dropLast(-count))
    }
}

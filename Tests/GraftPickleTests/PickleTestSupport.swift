import Foundation
import GraftPickle
import GraftTestSupport
import XCTest

/// The plain-data callables the machine gives meaning to.
let dataGlobals: Set<String> = [
    "collections.OrderedDict", "builtins.set", "builtins.frozenset", "_codecs.encode", "builtins.bytes",
]

/// What a torch checkpoint needs (a subset of torch's `_get_allowed_globals`).
let torchGlobals: Set<String> = dataGlobals.union([
    "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_parameter", "torch.FloatStorage",
    "torch.LongStorage", "torch.HalfStorage", "torch.Size",
])

func entry(_ key: String, _ value: PickleValue) -> PickleDictEntry {
    PickleDictEntry(key: .string(key), value: value)
}

func ints(_ values: [Int]) -> [PickleValue] { values.map { .int($0) } }

func decode(
    _ builder: PickleBuilder, allowed: Set<String> = dataGlobals, limits: PickleLimits = .default
) throws -> PickleValue {
    try PickleMachine(allowedGlobals: allowed, limits: limits).decode(builder.bytes).value
}

func fixtureBytes(_ name: String) throws -> [UInt8] { try TestPaths.fixtureBytes("pickle/\(name)") }

/// Asserts that decoding fails with exactly `expected`.
func assertRejects(
    _ builder: PickleBuilder, _ expected: PickleError, allowed: Set<String> = dataGlobals,
    limits: PickleLimits = .default, file: StaticString = #filePath, line: UInt = #line
) {
    assertRejects(builder.bytes, expected, allowed: allowed, limits: limits, file: file, line: line)
}

func assertRejects(
    _ bytes: [UInt8], _ expected: PickleError, allowed: Set<String> = dataGlobals,
    limits: PickleLimits = .default, file: StaticString = #filePath, line: UInt = #line
) {
    do {
        let value = try PickleMachine(allowedGlobals: allowed, limits: limits).decode(bytes).value
        XCTFail("decoded \(value.kindDescription), expected \(expected)", file: file, line: line)
    } catch let error as PickleError {
        XCTAssertEqual(error, expected, file: file, line: line)
        XCTAssertFalse(error.description.isEmpty, file: file, line: line)
    } catch {
        XCTFail("unexpected error type \(error)", file: file, line: line)
    }
}

/// The error decoding fails with, or nil when it succeeds.
func rejection(_ builder: PickleBuilder, allowed: Set<String> = dataGlobals) -> PickleError? {
    do {
        _ = try PickleMachine(allowedGlobals: allowed).decode(builder.bytes)
        return nil
    } catch {
        return error as? PickleError
    }
}

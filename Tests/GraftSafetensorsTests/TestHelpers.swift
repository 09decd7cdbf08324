import Crypto
import Foundation
import GraftCore
import GraftSafetensors
import XCTest

/// The error `Safetensors.parse` throws for `bytes`; a test failure (and nil) if the bytes parse or
/// the error has another type.
func refusal(
    _ bytes: [UInt8], limits: SafetensorsLimits = .default, file: StaticString = #filePath, line: UInt = #line
) -> SafetensorsError? {
    do {
        _ = try Safetensors.parse(bytes, limits: limits)
        XCTFail("expected a refusal, but the bytes parsed", file: file, line: line)
    } catch let error as SafetensorsError {
        return error
    } catch {
        XCTFail("expected a SafetensorsError, got \(type(of: error)): \(error)", file: file, line: line)
    }
    return nil
}

/// The reason text of an `.invalidJSON` refusal at `offset`, or a test failure.
func jsonReason(
    _ bytes: [UInt8], at offset: Int, limits: SafetensorsLimits = .default,
    file: StaticString = #filePath, line: UInt = #line
) -> String {
    guard case .invalidJSON(let at, let reason) = refusal(bytes, limits: limits, file: file, line: line)
    else {
        XCTFail("expected invalidJSON", file: file, line: line)
        return ""
    }
    XCTAssertEqual(at, offset, "offset of: \(reason)", file: file, line: line)
    return reason
}

/// A deterministic byte generator (SplitMix64) for property tests that must not depend on the run.
struct SeededBytes {
    private var source: SplitMix64

    init(seed: UInt64) { source = SplitMix64(seed: seed) }

    mutating func next() -> UInt64 { source.next() }

    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(bound)) }

    mutating func bytes(_ count: Int) -> [UInt8] {
        (0..<count).map { _ in UInt8(truncatingIfNeeded: next()) }
    }
}

extension RawTensor {
    /// A tensor holding a copy of `bytes`.
    static func make(_ dtype: DType, _ shape: [Int], _ bytes: [UInt8]) throws -> RawTensor {
        try RawTensor(dtype: dtype, shape: shape, data: ByteBuffer(bytes))
    }
}

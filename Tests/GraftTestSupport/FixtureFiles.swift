import Crypto
import Foundation

extension TestPaths {
    /// The bytes of `Fixtures/<name>`.
    public static func fixtureBytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: fixture(name))))
    }

    /// A JSON file (a fixture manifest) decoded as `T`.
    public static func decodeJSON<T: Decodable>(_ type: T.Type, atPath path: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// `Fixtures/<name>` (a manifest the fixture scripts wrote) decoded as `T`.
    public static func decodeFixture<T: Decodable>(_ type: T.Type, _ name: String) throws -> T {
        try decodeJSON(type, atPath: fixture(name))
    }
}

/// Lower-case hex sha256, as Python's `hashlib.sha256(...).hexdigest()` prints it.
public func sha256Hex(_ bytes: UnsafeRawBufferPointer) -> String {
    SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
}

public func sha256Hex(_ bytes: [UInt8]) -> String { bytes.withUnsafeBytes { sha256Hex($0) } }

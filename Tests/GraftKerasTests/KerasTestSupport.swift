import Crypto
import Foundation
import GraftCore
import GraftHDF5
import GraftKeras
import GraftTestSupport
import XCTest

/// `Fixtures/keras/<name>`.
func kerasFixture(_ name: String) -> String { TestPaths.fixture("keras/\(name)") }

/// `Fixtures/keras/hostile/<name>`.
func hostileFixture(_ name: String) -> String { TestPaths.fixture("keras/hostile/\(name)") }

/// The sha256 the fixture script records: float tensors as float32 little-endian bytes, integer
/// tensors as stored.
func canonicalDigest(_ tensor: RawTensor) -> String {
    let bytes = tensor.dtype.isFloatingPoint ? tensor.convertedToFloat32() : tensor
    return bytes.data.withUnsafeBytes { sha256Hex($0) }
}

/// What `tools/make_keras_fixtures.py` wrote into `Fixtures/keras/manifest.json`.
struct KerasManifest: Decodable {
    struct Model: Decodable {
        var files: [String: String]
        var arrays: [String: String?]
        var layer_count_with_weights: Int
        /// Absent in the full-size manifest.
        var layers: [Layer]?
        var tensors: [String: Tensor]

        var layerList: [Layer] { layers ?? [] }
    }

    struct Layer: Decodable {
        var name: String
        var `class`: String
        var weights: [Weight]?
    }

    struct Weight: Decodable {
        var name: String
        var stored_shape: [Int]
        var canonical_shape: [Int]
    }

    struct Tensor: Decodable {
        var `class`: String
        var shape: [Int]
        var stored_shape: [Int]
        var dtype: String
        var sha256: String
    }

    struct Hostile: Decodable {
        var expect: String
        var note: String
    }

    /// Small structures beyond the miniatures (a nested model, a file without layer names).
    struct Structure: Decodable {
        struct Digest: Decodable {
            var shape: [Int]
            var sha256: String
        }

        var files: [String]
        var tensors: [String: Digest]
        /// Layer name → Keras 3 file key, for the file without names.
        var file_keys: [String: String]?
    }

    var versions: [String: String]
    var models: [String: Model]
    /// Absent in the full-size manifest.
    var structures: [String: Structure]?
    /// Absent in the full-size manifest.
    var hostile: [String: Hostile]?

    static func load(_ path: String = kerasFixture("manifest.json")) throws -> KerasManifest {
        try TestPaths.decodeJSON(KerasManifest.self, atPath: path)
    }
}

/// The error `body` throws as `E`; a test failure (and nil) if it succeeds or throws another type.
func thrownError<E: Error, T>(
    _ type: E.Type, file: StaticString = #filePath, line: UInt = #line, _ body: () throws -> T
) -> E? {
    do {
        _ = try body()
        XCTFail("expected \(E.self), but the call succeeded", file: file, line: line)
    } catch let error as E {
        return error
    } catch {
        XCTFail("expected \(E.self), got \(Swift.type(of: error)): \(error)", file: file, line: line)
    }
    return nil
}

/// Runs `body` with file descriptor 2 redirected to a temporary file and returns what was written
/// there, so a test can assert that libhdf5 printed nothing.
func capturingStandardError<T>(_ body: () throws -> T) rethrows -> (result: T, stderr: String) {
    let url = TestPaths.temporaryDirectory("stderr").appendingPathComponent("stderr.txt")
    _ = FileManager.default.createFile(atPath: url.path, contents: nil)
    let saved = dup(2)
    let capture = open(url.path, O_WRONLY)
    dup2(capture, 2)
    close(capture)
    defer {
        fflush(nil)
        dup2(saved, 2)
        close(saved)
    }
    let result = try body()
    fflush(nil)
    let text = (try? String(contentsOf: url, encoding: .utf8)) ?? ""
    return (result, text)
}

/// A copy of `path` cut to `fraction` of its length, in a fresh temporary directory.
func truncatedCopy(of path: String, fraction: Double) throws -> String {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let url = TestPaths.temporaryDirectory("keras-truncated").appendingPathComponent("cut.h5")
    try data.prefix(Int(Double(data.count) * fraction)).write(to: url)
    return url.path
}

/// Reads every tensor of `weights` into memory, keyed by flat name (converted layout).
func loadAll(_ weights: KerasWeights) throws -> [String: RawTensor] {
    var out: [String: RawTensor] = [:]
    for (name, tensor) in weights.tensors { out[name] = try tensor.load() }
    return out
}

/// Checks every tensor of `weights` against the manifest.
func assertMatchesManifest(_ weights: KerasWeights, _ model: KerasManifest.Model, _ file: String) throws {
    let tensors = weights.tensors
    XCTAssertEqual(Set(tensors.map(\.name)), Set(model.tensors.keys), file)
    XCTAssertEqual(tensors.count, model.tensors.count, file)
    XCTAssertEqual(weights.layers.count, model.layer_count_with_weights, file)
    for (name, lazy) in tensors {
        guard let expected = model.tensors[name] else { continue }
        let tensor = try lazy.load()
        XCTAssertEqual(tensor.shape, expected.shape, "\(file): \(name)")
        if expected.dtype == "float32" {
            XCTAssertEqual(tensor.dtype, .float32, "\(file): \(name)")
            XCTAssertEqual(canonicalDigest(tensor), expected.sha256, "\(file): \(name)")
        } else {
            // Normalization's count: int32 from Keras 3, int64 from tf.keras 2.
            XCTAssertTrue([DType.int32, .int64].contains(tensor.dtype), "\(file): \(name)")
        }
    }
    for (name, lazy) in weights.rawTensors {
        XCTAssertEqual(lazy.shape, model.tensors[name]?.stored_shape, "\(file): raw \(name)")
    }
}

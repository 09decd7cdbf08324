import Crypto
import Foundation
import GraftCore
import GraftTestSupport

/// `Fixtures/torch/manifest.json`, written by `tools/make_torch_fixtures.py` with torch: what each
/// checkpoint must import as (names after normalization, dtypes, shapes, sha256 of the bytes).
struct TorchManifest: Decodable {
    struct Tensor: Decodable {
        let name: String
        let dtype: String
        let shape: [Int]
        let sha256: String
    }
    struct Normalization: Decodable {
        let unwrapped: String?
        let stripped_prefixes: [String]
        let dropped: [String]
    }
    struct File: Decodable {
        let format: String?
        let prefix: String?
        let byteorder: String?
        let sha256_file: String
        let tensors: [Tensor]?
        let normalization: Normalization?
        let expect_error: String?
        let detail: String?
        let hash_prefix_matches: Bool?
        let crc32: Bool?
    }
    let files: [String: File]

    static func load() throws -> TorchManifest {
        try TestPaths.decodeFixture(TorchManifest.self, "torch/manifest.json")
    }
}

/// `Fixtures/torch/shared_fixture_hashes.json`: per-tensor sha256 of the float32 bytes of the
/// full-size `../shared/fixtures` checkpoints, recorded by `tools/record_shared_hashes.py`.
struct SharedHashes: Decodable {
    struct Tensor: Decodable {
        let name: String
        let dtype: String
        let shape: [Int]
        let sha256_f32: String
    }
    struct File: Decodable {
        let sha256_file: String
        let tensors: [Tensor]
    }

    static func load() throws -> [String: File] {
        try TestPaths.decodeFixture([String: File].self, "torch/shared_fixture_hashes.json")
    }
}

func sha256Hex(_ tensor: RawTensor) -> String { sha256Hex(tensor.data.bytes) }

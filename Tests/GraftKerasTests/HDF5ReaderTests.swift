import Foundation
import GraftCore
import GraftHDF5
import GraftKeras
import XCTest

/// The GraftHDF5 layer on its own: string attributes as h5py and Keras write them, group listing,
/// guarded lookups, dataset descriptions, and use from several threads.
final class HDF5ReaderTests: XCTestCase {
    func testSignatureIsFoundAtZeroOrAfterAUserBlock() {
        let signature: [UInt8] = [0x89, 0x48, 0x44, 0x46, 0x0D, 0x0A, 0x1A, 0x0A]
        var bytes = [UInt8](repeating: 0, count: 1024)
        bytes.withUnsafeBytes { XCTAssertFalse(HDF5File.hasSignature($0)) }
        bytes.replaceSubrange(512..<520, with: signature)
        bytes.withUnsafeBytes { XCTAssertTrue(HDF5File.hasSignature($0)) }
        bytes = Array(bytes[0..<515])
        bytes.withUnsafeBytes { XCTAssertFalse(HDF5File.hasSignature($0), "cut signature") }
        signature.withUnsafeBytes { XCTAssertTrue(HDF5File.hasSignature($0)) }
    }

    func testVariableLengthStringAttributesAsKeras3WritesThem() throws {
        let file = try HDF5File(path: kerasFixture("resnet_mini.h5"))
        let names = try XCTUnwrap(file.root.stringArrayAttribute("layer_names"))
        XCTAssertEqual(names.first, "input_layer")
        XCTAssertTrue(names.contains("conv2_block1_1_conv"))
        XCTAssertEqual(try file.root.stringAttribute("backend"), "torch")
        XCTAssertEqual(
            try file.root.attributeDescription("layer_names"), "variable-length string [\(names.count)]")
        XCTAssertEqual(try file.root.attributeNames(), ["backend", "keras_version", "layer_names"])
        XCTAssertNil(try file.root.stringArrayAttribute("absent"))
        // A layer without weights: h5py stores the empty list as an empty float64 array.
        let input = try file.root.group("input_layer")
        XCTAssertEqual(try input.stringArrayAttribute("weight_names"), [])
        XCTAssertEqual(
            try input.attributeDescription("weight_names"),
            "64-bit little-endian float (precision 64, bias 1023) [0]")
        guard
            case .attributeType(_, "layer_names", _)? = thrownError(
                HDF5Error.self, { try file.root.stringAttribute("layer_names") })
        else { return XCTFail("a list is not one string") }
    }

    func testFixedLengthStringAttributesAsTfKeras2Wrote() throws {
        let file = try HDF5File(path: kerasFixture("resnet_mini.tf2.h5"))
        XCTAssertFalse(try file.root.hasAttribute("layer_names"))
        let first = try XCTUnwrap(file.root.stringArrayAttribute("layer_names0"))
        let second = try XCTUnwrap(file.root.stringArrayAttribute("layer_names1"))
        XCTAssertEqual(first.first, "input_layer", "null padding removed")
        XCTAssertFalse(second.isEmpty)
        XCTAssertEqual(try file.root.stringAttribute("keras_version"), "2.12.0")
        XCTAssertTrue(
            try file.root.attributeDescription("backend")?.hasPrefix("fixed-length string (10 bytes)")
                ?? false)
        let conv = try file.root.group("conv1_conv")
        XCTAssertEqual(
            try conv.stringArrayAttribute("weight_names"), ["conv1_conv/kernel:0", "conv1_conv/bias:0"])
    }

    func testLinksLookupsAndWrongObjectTypes() throws {
        let file = try HDF5File(path: kerasFixture("vgg_mini.weights.h5"))
        let links = try file.root.links()
        XCTAssertEqual(links.map(\.name), ["layers", "vars"])
        XCTAssertTrue(links.allSatisfy { $0.kind == .hard })
        XCTAssertEqual(
            try file.root.links(order: .creationIfTracked).map(\.name), ["layers", "vars"],
            "h5py does not track order")
        let layers = try file.root.group("layers")
        XCTAssertEqual(try layers.linkKind("conv2d_1"), .hard)
        XCTAssertNil(try layers.linkKind("nothing"))
        guard
            case .notFound("/layers/nothing")? = thrownError(HDF5Error.self, { try layers.group("nothing") })
        else {
            return XCTFail()
        }
        guard
            case .wrongObjectType("/layers", "dataset", "group")? = thrownError(
                HDF5Error.self, { try file.root.dataset("layers") })
        else { return XCTFail() }
        for bad in [".", "..", "a/b", "", "nul\0"] {
            guard case .invalidName("/layers", bad)? = thrownError(HDF5Error.self, { try layers.group(bad) })
            else {
                XCTFail(bad.debugDescription)
                continue
            }
        }
        let vars = try layers.group("conv2d").group("vars")
        XCTAssertEqual(vars.path, "/layers/conv2d/vars")
        XCTAssertEqual(vars.depth, 3)
        XCTAssertEqual(try vars.stringAttribute("name"), "block1_conv1")
        XCTAssertEqual(try vars.datasetNames(), ["0", "1"])
        guard case .dataset(let kernel) = try file.root.member(at: ["layers", "conv2d", "vars", "0"]) else {
            return XCTFail()
        }
        XCTAssertEqual(kernel.shape, [3, 3, 3, 4])
        XCTAssertEqual(kernel.elementType, .number(.float32, bigEndian: false))
        XCTAssertEqual(kernel.declaredBytes, 3 * 3 * 3 * 4 * 4)
        XCTAssertEqual(kernel.storedBytes, kernel.declaredBytes)
        XCTAssertEqual(kernel.filters, [])
        XCTAssertEqual(try kernel.read().floatValues().count, 108)
    }

    func testCreationOrderWhenTheGroupTracksIt() throws {
        let file = try HDF5File(path: hostileFixture("creation_order.h5"))
        let group = try file.root.group("tracked")
        XCTAssertEqual(try group.links(order: .creationIfTracked).map(\.name), ["zeta", "alpha", "mid"])
        XCTAssertEqual(try group.links().map(\.name), ["alpha", "mid", "zeta"])
    }

    func testWalkVisitsEveryGroupOnceAndCanPrune() throws {
        let file = try HDF5File(path: kerasFixture("vgg_mini.weights.h5"))
        var visited: [[String]] = []
        try file.root.walkGroups { _, relative in
            visited.append(relative)
            return relative.last != "vars"
        }
        XCTAssertTrue(visited.contains(["layers", "dense_2", "vars"]))
        XCTAssertTrue(visited.contains(["vars"]))
        XCTAssertEqual(visited.count, Set(visited).count)
        XCTAssertFalse(visited.contains { $0.count > 3 })
    }

    func testDatasetGuardsApplyThroughTheHDF5API() throws {
        let file = try HDF5File(path: hostileFixture("lzf_filter.h5"))
        let layer = try file.root.group("dense")
        guard
            case .unsupportedFilter(_, 32000, let name)? = thrownError(
                HDF5Error.self, { try layer.member(at: ["dense", "kernel"]) })
        else { return XCTFail() }
        XCTAssertTrue(name.lowercased().contains("lzf"), name)
        let strings = try HDF5File(path: hostileFixture("vlen_string_kernel.h5"))
        let dataset = try strings.root.group("dense").group("dense").dataset("kernel")
        XCTAssertEqual(dataset.elementType, .unsupported("variable-length string"))
        guard
            case .unsupportedType(_, "variable-length string")? = thrownError(
                HDF5Error.self, { try dataset.lazyTensor() })
        else { return XCTFail() }
    }

    func testIntegersOnlyWhenAllowed() throws {
        let file = try HDF5File(path: kerasFixture("efficientnet_mini.weights.h5"))
        let count = try file.root.group("layers").group("normalization").group("vars").dataset("2")
        XCTAssertEqual(count.shape, [])
        XCTAssertNotNil(thrownError(HDF5Error.self, { try count.lazyTensor() }))
        let tensor = try count.read(allowIntegers: true)
        XCTAssertEqual(tensor.dtype, .int32)
        XCTAssertEqual(tensor.elementCount, 1)
    }

    func testLazyTensorsLoadFromSeveralThreadsAndFailuresStaySilent() throws {
        let weights = try KerasWeights.read(path: kerasFixture("efficientnet_mini.weights.h5"))
        let tensors = weights.tensors
        let reference = try tensors.map { try $0.tensor.load().floatValues() }
        let results = ResultBox(count: tensors.count)
        let (_, text) = capturingStandardError {
            DispatchQueue.concurrentPerform(iterations: 8) { worker in
                for (index, entry) in tensors.enumerated() where index % 8 == worker {
                    results.set(index, (try? entry.tensor.load().floatValues()) ?? [])
                }
                // A refusal on a fresh thread: libhdf5's error printing is per thread.
                _ = try? KerasWeights.read(path: hostileFixture("rank33.h5"))
            }
        }
        XCTAssertEqual(text, "")
        XCTAssertEqual(results.values, reference)
    }
}

/// Results written by concurrent workers, one slot each.
private final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var values: [[Float]]

    init(count: Int) { values = Array(repeating: [], count: count) }

    func set(_ index: Int, _ value: [Float]) {
        lock.lock()
        values[index] = value
        lock.unlock()
    }
}

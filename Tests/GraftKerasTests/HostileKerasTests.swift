import Foundation
import GraftCore
import GraftHDF5
import GraftKeras
import GraftTestSupport
import XCTest

/// style_safety.md §2.3 E1–E13: each hostile file (written by tools/keras_hostile_fixtures.py, or
/// cut from a good fixture here) must be refused with its typed error, without a crash and without
/// libhdf5 printing anything to stderr.
final class HostileKerasTests: XCTestCase {
    /// The error reading `path` throws; fails the test if it reads, throws something else, or
    /// anything reaches stderr.
    private func refusal(
        _ path: String, limits: HDF5Limits = .default, file: StaticString = #filePath, line: UInt = #line
    ) -> KerasError? {
        let (error, text) = capturingStandardError {
            thrownError(KerasError.self, file: file, line: line) {
                try KerasWeights.read(path: path, options: KerasImportOptions(limits: limits))
            }
        }
        XCTAssertEqual(text, "", "stderr output", file: file, line: line)
        if let error = error { XCTAssertFalse(error.description.isEmpty, file: file, line: line) }
        return error
    }

    private func hdf5Refusal(
        _ name: String, limits: HDF5Limits = .default, file: StaticString = #filePath, line: UInt = #line
    ) -> HDF5Error? {
        guard case .hdf5(let error)? = refusal(hostileFixture(name), limits: limits, file: file, line: line)
        else {
            XCTFail("expected an HDF5 refusal for \(name)", file: file, line: line)
            return nil
        }
        return error
    }

    // MARK: E1, E2: not HDF5, truncated, not a regular file

    func testTextFileIsNotHDF5() {
        guard case .notHDF5? = hdf5Refusal("not_hdf5.h5") else { return XCTFail() }
    }

    func testEmptyFileIsNotHDF5() throws {
        let url = TestPaths.temporaryDirectory("keras-empty").appendingPathComponent("empty.h5")
        try Data().write(to: url)
        guard case .hdf5(.notHDF5)? = refusal(url.path) else { return XCTFail() }
    }

    func testTruncatedAtHalfAndNinetyPercent() throws {
        for fraction in [0.5, 0.9] {
            let path = try truncatedCopy(of: kerasFixture("resnet_mini.h5"), fraction: fraction)
            guard case .hdf5(.truncated(let file, let detail))? = refusal(path) else {
                XCTFail("cut at \(fraction)")
                continue
            }
            XCTAssertEqual(file, path)
            XCTAssertTrue(detail.contains("truncated"), detail)
        }
    }

    func testFIFODirectoryAndMissingFileAreRefusedBeforeLibHDF5() throws {
        let directory = TestPaths.temporaryDirectory("keras-fifo")
        let fifo = directory.appendingPathComponent("pipe.h5").path
        XCTAssertEqual(mkfifo(fifo, 0o600), 0)
        guard case .hdf5(.file(.notRegularFile))? = refusal(fifo) else { return XCTFail("fifo") }
        guard case .hdf5(.file(.notRegularFile))? = refusal(directory.path) else {
            return XCTFail("directory")
        }
        guard case .hdf5(.file(.cannotOpen))? = refusal(directory.appendingPathComponent("none.h5").path)
        else {
            return XCTFail("missing")
        }
    }

    // MARK: E5, E6: links and data outside the file

    func testSoftLinksAreRefused() {
        guard case .linkNotAllowed(let path, let kind)? = hdf5Refusal("soft_link_layer.h5") else {
            return XCTFail()
        }
        XCTAssertEqual(path, "/dense")
        XCTAssertEqual(kind, "soft")
        guard case .linkNotAllowed(let datasetPath, "soft")? = hdf5Refusal("soft_link_dataset.h5") else {
            return XCTFail()
        }
        XCTAssertEqual(datasetPath, "/dense/dense/bias")
    }

    func testExternalLinkIsRefusedAlthoughItsTargetExists() throws {
        XCTAssertTrue(FileManager.default.fileExists(atPath: hostileFixture("external_target.h5")))
        guard case .linkNotAllowed("/dense", "external")? = hdf5Refusal("external_link.h5") else {
            return XCTFail()
        }
    }

    func testExternalStorageAndVirtualDatasetsAreRefused() {
        guard case .externalStorage("/dense/dense/kernel")? = hdf5Refusal("external_storage.h5") else {
            return XCTFail()
        }
        guard case .virtualDataset("/dense/dense/kernel")? = hdf5Refusal("virtual_dataset.h5") else {
            return XCTFail()
        }
    }

    // MARK: E7, E8: shape bombs and plugin filters

    func testShapeBombIsRefusedWithDefaultLimits() {
        guard case .shapeBomb(let path, let declared, let stored)? = hdf5Refusal("shape_bomb.h5") else {
            return XCTFail()
        }
        XCTAssertEqual(path, "/layers/custom/vars/0")
        XCTAssertEqual(declared, 4 << 40)
        XCTAssertEqual(stored, 0)
    }

    /// Keras' own rule lets 4.29e9 declared bytes with nothing stored through (its floor is 4 GiB);
    /// reading it took 4.1 GB of memory for a 9 KB file. Graft's floor is 64 MiB.
    func testFillBombUnderKerasFloorIsRefused() {
        guard case .shapeBomb(_, let declared, 0)? = hdf5Refusal("fill_bomb_under_keras_floor.h5") else {
            return XCTFail()
        }
        XCTAssertEqual(declared, 16 * 16 * 1024 * 4095 * 4)
    }

    func testSmallShapeBombIsRefusedWithTinyLimitsAndReadsAsFillOtherwise() throws {
        var limits = HDF5Limits()
        limits.bombFloorBytes = 1024
        guard case .shapeBomb(_, 1 << 20, 0)? = hdf5Refusal("shape_bomb_small.h5", limits: limits) else {
            return XCTFail()
        }
        // Under the default 64 MiB floor the same file is legal: 1 MiB of fill value.
        let weights = try KerasWeights.read(path: hostileFixture("shape_bomb_small.h5"))
        XCTAssertEqual(weights.layers.first?.className, nil, "unknown class key: positional names")
        XCTAssertEqual(weights.tensors.first?.name, "blob/0")
        let tensor = try XCTUnwrap(weights.tensors.first).tensor.load()
        XCTAssertEqual(tensor.shape, [1 << 18])
        XCTAssertTrue(tensor.floatValues().allSatisfy { $0 == 0 })
    }

    func testPluginFilterIsRefusedAndPluginsStayOff() {
        guard case .unsupportedFilter("/dense/dense/kernel", 32000, _)? = hdf5Refusal("lzf_filter.h5") else {
            return XCTFail()
        }
        XCTAssertFalse(HDF5File.pluginLoadingEnabled)
        let maps = (try? String(contentsOfFile: "/proc/self/maps", encoding: .utf8)) ?? ""
        XCTAssertFalse(maps.contains("lzf"), "a filter plugin was loaded")
    }

    // MARK: E4: weights that are not floating point

    func testNonFloatKernelsAreRefusedNamingTheType() {
        let cases = [
            ("int_kernel.h5", "int32"), ("compound_kernel.h5", "compound"),
            ("vlen_string_kernel.h5", "variable-length string"), ("enum_kernel.h5", "enum"),
            ("uint16_kernel.h5", "16-bit little-endian unsigned integer"),
        ]
        for (name, found) in cases {
            guard case .weightType(let path, let type)? = refusal(hostileFixture(name)) else {
                XCTFail(name)
                continue
            }
            XCTAssertEqual(path, "/dense/dense/kernel", name)
            XCTAssertTrue(type.contains(found), "\(name): \(type)")
        }
    }

    // MARK: E9, E10: Keras structure

    func testMissingOrWrongTypedNameAttributes() {
        guard case .notKerasWeights? = refusal(hostileFixture("missing_layer_names.h5")) else {
            return XCTFail()
        }
        guard
            case .missingAttribute("/dense", "weight_names")? = refusal(
                hostileFixture("missing_weight_names.h5"))
        else { return XCTFail() }
        guard case .attributeType("/", "layer_names", let found)? = hdf5Refusal("int_layer_names.h5") else {
            return XCTFail()
        }
        XCTAssertTrue(found.contains("integer"), found)
        guard case .attributeNotUTF8("/", "layer_names")? = hdf5Refusal("non_utf8_layer_names.h5") else {
            return XCTFail()
        }
    }

    func testNamesWithNULDotDotOrSlashAreRefused() {
        guard case .invalidName("/", "den\0se")? = refusal(hostileFixture("nul_layer_name.h5")) else {
            return XCTFail()
        }
        guard
            case .invalidName("/dense", "../dense/dense/kernel")? = refusal(
                hostileFixture("dotdot_weight_name.h5"))
        else { return XCTFail() }
        guard case .invalidName("/", "dense/dense")? = refusal(hostileFixture("slash_layer_name.h5")) else {
            return XCTFail()
        }
        guard case .malformed("/", let reason)? = refusal(hostileFixture("duplicate_layer_names.h5")) else {
            return XCTFail()
        }
        XCTAssertTrue(reason.contains("twice"), reason)
    }

    func testWeightCountMismatches() {
        guard case .weightCountMismatch("dense", let reason)? = refusal(hostileFixture("extra_dataset.h5"))
        else {
            return XCTFail()
        }
        XCTAssertTrue(reason.contains("lists 2 weights") && reason.contains("holds 3 datasets"), reason)
        guard case .missingWeight("dense", "dense/bias")? = refusal(hostileFixture("missing_weight.h5"))
        else {
            return XCTFail()
        }
        guard case .weightCountMismatch("conv", let conv)? = refusal(hostileFixture("v3_conv_three_vars.h5"))
        else {
            return XCTFail()
        }
        XCTAssertTrue(conv.contains("Conv2D") && conv.contains("holds 3"), conv)
        guard case .malformed("/layers/dense/vars", _)? = refusal(hostileFixture("v3_bad_var_names.h5"))
        else {
            return XCTFail()
        }
    }

    // MARK: E11, E12, E13: shapes, nesting, attribute sizes

    func testRankAndShapeOverflow() {
        var limits = HDF5Limits()
        limits.maxRank = 4
        guard
            case .rankTooLarge("/layers/dense/vars/0", 5, 4)? = hdf5Refusal("rank5_kernel.h5", limits: limits)
        else {
            return XCTFail()
        }
        guard case .corrupt("/layers/dense/vars/0", _, _)? = hdf5Refusal("rank33.h5") else {
            return XCTFail()
        }
        guard case .invalidShape("/layers/dense/vars/0", let reason)? = hdf5Refusal("overflow_shape.h5")
        else {
            return XCTFail()
        }
        XCTAssertTrue(reason.contains("overflows"), reason)
    }

    func testDeepNestingAndHardLinkCycleAreBounded() {
        guard case .depthLimit(let path, 64)? = hdf5Refusal("deep_nesting.h5") else { return XCTFail() }
        XCTAssertTrue(path.hasPrefix("/layers/g/g/"), path)
        guard case .linkCycle("/layers/a/b/loop")? = hdf5Refusal("link_cycle.h5") else { return XCTFail() }
    }

    func testHugeAttributesAreRefusedAboveTheLimit() {
        var limits = HDF5Limits()
        limits.maxAttributeBytes = 4096
        for name in ["huge_attribute.h5", "huge_fixed_attribute.h5"] {
            guard
                case .attributeTooLarge("/", "layer_names", let size, 4096)? = hdf5Refusal(
                    name, limits: limits)
            else {
                XCTFail(name)
                continue
            }
            XCTAssertGreaterThan(size, 4096, name)
        }
        limits = HDF5Limits()
        limits.maxAttributeElements = 10
        guard
            case .attributeTooLarge("/", "layer_names", 41, 10)? = hdf5Refusal(
                "huge_attribute.h5", limits: limits)
        else { return XCTFail() }
    }

    func testModelConfigIsOnlyASourceOfClassNames() throws {
        // Not JSON: the weights still read, classes come from the weight names, and a note says so.
        let weights = try KerasWeights.read(path: hostileFixture("bad_model_config.h5"))
        XCTAssertEqual(weights.layer(named: "dense")?.className, "Dense")
        XCTAssertEqual(weights.layer(named: "dense")?.classSource, .weightNames)
        XCTAssertTrue(weights.notes.contains { $0.contains("model_config is not readable JSON") })
        // A config that names the wrong class leads to a typed shape refusal, not a wrong layout.
        guard case .weightShape("dense/kernel", [3, 2], let expected)? = refusal(hostileFixture("lying_model_config.h5"))
        else { return XCTFail() }
        XCTAssertTrue(expected.contains("Conv2D"), expected)
    }

    // MARK: Unusual but valid

    func testUserBlockAndUnusualDtypesRead() throws {
        let blocked = try KerasWeights.read(path: hostileFixture("user_block.h5"))
        XCTAssertEqual(blocked.layers.map(\.name), ["dense"])
        XCTAssertEqual(
            try blocked.tensors[0].tensor.load().floatValues(), [0, 2, 4, 1, 3, 5], "(3, 2) → (2, 3)")

        let weights = try KerasWeights.read(path: hostileFixture("dtypes.weights.h5"))
        let fc = try XCTUnwrap(weights.layer(named: "fc"))
        let kernel = try XCTUnwrap(fc.weight("kernel")).raw.load()
        XCTAssertEqual(kernel.dtype, .float32)
        XCTAssertEqual(kernel.floatValues(), [-2.5, -1.5, -0.5, 0.5, 1.5, 2.5], "big-endian swapped")
        let bias = try XCTUnwrap(fc.weight("bias")).raw.load()
        XCTAssertEqual(bias.dtype, .float16)
        XCTAssertEqual(bias.floatValues(), [0.5, -1.25])
        let bn = try XCTUnwrap(weights.layer(named: "bn"))
        XCTAssertEqual(bn.weights.map(\.name), ["gamma", "beta", "moving_mean", "moving_variance"])
        let gamma = try XCTUnwrap(bn.weight("gamma")).raw.load()
        XCTAssertEqual(gamma.dtype, .float64)
        XCTAssertEqual(gamma.floatValues(), [1.5, 2.0], "big-endian float64 swapped")
        let mean = try XCTUnwrap(bn.weight("moving_mean")).raw.load()
        XCTAssertEqual(mean.dtype, .bfloat16)
        XCTAssertEqual(mean.floatValues(), [1.0, -3.0])
    }
}

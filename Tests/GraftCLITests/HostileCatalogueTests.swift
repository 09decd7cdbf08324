import XCTest

/// The hostile catalogue (issue 16), one class per family so each can run alone; together
/// `swift test --filter HostileCatalogue`. Every row: exit 2, one line naming the file and a reason,
/// under 10 s and 2 GB, nothing in the output folder.
enum HostileCatalogue {
    static var all: [HostileCase] {
        TorchCases.cases + ContainerCases.cases + SafetensorsCases.cases + StoreCases.cases + ImageCases.cases + KerasCases.cases
    }
}

final class HostileCatalogueTorchTests: HostileCatalogueTestCase {
    func testTorchRecordsAndGlobals() { runCatalogue(TorchCases.cases) }
    func testContainersCutsAndPickles() { runCatalogue(ContainerCases.cases) }
}

final class HostileCatalogueSafetensorsTests: HostileCatalogueTestCase {
    func testSafetensors() { runCatalogue(SafetensorsCases.cases) }
}

final class HostileCatalogueStoreTests: HostileCatalogueTestCase {
    func testStoresTimmFoldersAndConfigs() { runCatalogue(StoreCases.cases) }
}

final class HostileCatalogueImageTests: HostileCatalogueTestCase {
    func testImagesAndImageFolders() { runCatalogue(ImageCases.cases) }
}

final class HostileCatalogueKerasTests: HostileCatalogueTestCase {
    func testKerasAndNpy() { runCatalogue(KerasCases.cases) }
}

/// The catalogue's shape: at least 300 rows, unique names, every command reached.
final class HostileCatalogueShapeTests: XCTestCase {
    func testTheCatalogueHasThreeHundredUniqueRowsOverEveryCommand() {
        let all = HostileCatalogue.all
        XCTAssertGreaterThanOrEqual(all.filter { $0.exit == 2 }.count, 300)
        let names = all.map(\.name)
        XCTAssertEqual(Set(names).count, names.count, "duplicate names: \(Dictionary(grouping: names) { $0 }.filter { $1.count > 1 }.keys.sorted())")
        let commands = Set(all.compactMap(\.argv.first))
        XCTAssertEqual(commands, ["inspect", "convert", "export", "verify", "predict", "preprocess", "summary", "finetune", "features"])
        var counts: [String: Int] = [:]
        for c in all where c.exit == 2 { counts[c.argv[0] == "export" ? "export " + (c.argv.contains("--format") ? c.argv[2] : "pth") : c.argv[0], default: 0] += 1 }
        print("hostile catalogue per command: \(counts.sorted { $0.key < $1.key })")
        for format in ["pth", "timm", "onnx"] { XCTAssertGreaterThan(counts["export \(format)"] ?? 0, 0, format) }
    }
}

import GraftCore
import GraftImage
import GraftTestSupport
import XCTest

/// `preprocess_input(img_to_array(load_img(p, target_size)), mode)` from keras 3.15 (NumPy 2).
final class KerasPreprocessingTests: XCTestCase {
    func testThreeModesMatchKeras() throws {
        let manifest = try ImageFixtureManifest.load()
        let k = manifest.keras
        let image = try KerasImageLoader.load(path: TestPaths.fixture("images/\(k.image)"),
                                              targetSize: (height: k.target_height, width: k.target_width))
        XCTAssertEqual(image.width, k.target_width)
        XCTAssertEqual(image.height, k.target_height)
        XCTAssertEqual(Set(k.outputs.keys), Set(KerasPreprocessMode.allCases.map(\.rawValue)))
        for mode in KerasPreprocessMode.allCases {
            guard let file = k.outputs[mode.rawValue] else { continue }
            let reference = try NpyArray(contentsOfFile: TestPaths.fixture("images/\(file)"))
            let tensor = KerasImageLoader.preprocess(image, mode: mode)
            XCTAssertEqual([1] + tensor.shape, reference.shape, mode.rawValue)
            let maxDiff = zip(tensor.values, reference.values).map { abs($0 - $1) }.max() ?? .infinity
            let identical = zip(tensor.values, reference.values).filter { $0.bitPattern == $1.bitPattern }.count
            print("keras \(mode.rawValue): max |diff| \(maxDiff), "
                  + "\(identical)/\(reference.values.count) bit-identical")
            XCTAssertLessThanOrEqual(maxDiff, 1e-6, mode.rawValue)
        }
    }

    func testCaffeModeIsBGRMinusMean() throws {
        let image = try RGBImage(width: 1, height: 1, pixels: [10, 20, 30])
        let t = KerasImageLoader.preprocess(image, mode: .caffe)
        XCTAssertEqual(t.values, [30 - Float(103.939), 20 - Float(116.779), 10 - Float(123.68)])
        XCTAssertEqual(KerasImageLoader.preprocess(image, mode: .tf).values[0], 10 / 127.5 - 1)
    }

    func testLoadWithoutTargetKeepsTheDecodedImage() throws {
        let path = TestPaths.fixture("images/png_rgb8_64x48.png")
        XCTAssertEqual(try KerasImageLoader.load(path: path), try ImageDecoder.decode(path: path))
    }
}

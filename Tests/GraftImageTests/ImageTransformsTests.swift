import GraftImage
import XCTest

/// torchvision's functional transforms on hand-checked cases.
final class ImageTransformsTests: XCTestCase {
    /// An image whose pixel (x, y) is (x, y, 7).
    func coordinates(width: Int, height: Int) throws -> RGBImage {
        var p: [UInt8] = []
        for y in 0..<height { for x in 0..<width { p += [UInt8(x), UInt8(y), 7] } }
        return try RGBImage(width: width, height: height, pixels: p)
    }

    func testShorterSideSizeTruncatesLikePython() {
        // int(256 * 640 / 427) = int(383.70...) = 383
        XCTAssertEqual(ImageTransforms.shorterSideSize(width: 640, height: 427, to: 256)?.width, 383)
        XCTAssertEqual(ImageTransforms.shorterSideSize(width: 640, height: 427, to: 256)?.height, 256)
        XCTAssertEqual(ImageTransforms.shorterSideSize(width: 100, height: 300, to: 10)?.height, 30)
        XCTAssertEqual(ImageTransforms.shorterSideSize(width: 5, height: 5, to: 7)?.width, 7)
        XCTAssertNil(ImageTransforms.shorterSideSize(width: 0, height: 5, to: 7))
        XCTAssertNil(ImageTransforms.shorterSideSize(width: 5, height: 5, to: 0))
    }

    func testCenterCropRoundsHalfToEven() throws {
        // (7 - 4) / 2 = 1.5 → 2 and (6 - 3) / 2 = 1.5 → 2; (9 - 4) / 2 = 2.5 → 2.
        let image = try coordinates(width: 7, height: 6)
        let crop = try ImageTransforms.centerCrop(image, height: 3, width: 4)
        XCTAssertEqual(crop.pixel(x: 0, y: 0)?.r, 2)
        XCTAssertEqual(crop.pixel(x: 0, y: 0)?.g, 2)
        let wide = try ImageTransforms.centerCrop(try coordinates(width: 9, height: 4), height: 4, width: 4)
        XCTAssertEqual(wide.pixel(x: 0, y: 0)?.r, 2)
    }

    func testCenterCropLargerThanImagePadsWithZeros() throws {
        // torchvision pads left (6-3)//2 = 1 and right 2, top (5-2)//2 = 1 and bottom 2.
        let image = try coordinates(width: 3, height: 2)
        let crop = try ImageTransforms.centerCrop(image, height: 5, width: 6)
        XCTAssertEqual(crop.width, 6)
        XCTAssertEqual(crop.height, 5)
        XCTAssertTrue(crop.pixel(x: 0, y: 0)! == (0, 0, 0))
        XCTAssertTrue(crop.pixel(x: 1, y: 1)! == (0, 0, 7))
        XCTAssertTrue(crop.pixel(x: 3, y: 2)! == (2, 1, 7))
        XCTAssertTrue(crop.pixel(x: 4, y: 2)! == (0, 0, 0))
        XCTAssertTrue(crop.pixel(x: 3, y: 3)! == (0, 0, 0))
    }

    func testCenterCropPadsOneSideAndCropsTheOther() throws {
        let image = try coordinates(width: 2, height: 9)
        let crop = try ImageTransforms.centerCrop(image, size: 4)
        // Width padded by 1 on each side; height offset round(5 / 2) = 2.
        XCTAssertTrue(crop.pixel(x: 0, y: 0)! == (0, 0, 0))
        XCTAssertTrue(crop.pixel(x: 1, y: 0)! == (0, 2, 7))
        XCTAssertTrue(crop.pixel(x: 2, y: 3)! == (1, 5, 7))
    }

    func testCropOutsideTheImageIsBlack() throws {
        let image = try coordinates(width: 4, height: 4)
        let crop = try ImageTransforms.crop(image, top: -1, left: 2, height: 3, width: 4)
        XCTAssertTrue(crop.pixel(x: 0, y: 0)! == (0, 0, 0))
        XCTAssertTrue(crop.pixel(x: 1, y: 1)! == (3, 0, 7))
        XCTAssertTrue(crop.pixel(x: 2, y: 1)! == (0, 0, 0))
        XCTAssertThrowsError(try ImageTransforms.crop(image, top: 0, left: 0, height: 0, width: 3))
        let far = try ImageTransforms.crop(image, top: 100, left: -100, height: 2, width: 2)
        XCTAssertEqual(far.pixels, [UInt8](repeating: 0, count: 12))
    }

    func testHorizontalFlipMirrorsRows() throws {
        let image = try coordinates(width: 3, height: 2)
        let flipped = ImageTransforms.horizontalFlip(image)
        XCTAssertTrue(flipped.pixel(x: 0, y: 1)! == (2, 1, 7))
        XCTAssertEqual(ImageTransforms.horizontalFlip(flipped), image)
    }

    func testToTensorDividesBy255AndNormalizes() throws {
        let image = try RGBImage(width: 2, height: 1, pixels: [0, 128, 255, 1, 2, 3])
        let t = ImageTransforms.toTensor(image)
        XCTAssertEqual(t.shape, [3, 1, 2])
        let expected: [Float] = [0, 1 / 255, 128 / 255, 2 / 255, 1, 3 / 255]
        XCTAssertEqual(t.values, expected)
        let n = try ImageTransforms.normalize(t, mean: [0.5, 0.5, 0.5], std: [0.5, 0.25, 2])
        XCTAssertEqual(n.values[0], (0 - 0.5) / 0.5)
        XCTAssertEqual(n.values[2], (128 / 255 as Float - 0.5) / 0.25)
        XCTAssertThrowsError(try ImageTransforms.normalize(t, mean: [0, 0], std: [1]))
    }

    func testInvalidImagesCannotBeBuilt() {
        XCTAssertThrowsError(try RGBImage(width: 2, height: 2, pixels: [1, 2, 3]))
        XCTAssertThrowsError(try RGBImage(width: 0, height: 1, pixels: []))
        XCTAssertThrowsError(try RGBImage(width: Int.max, height: 2))
        XCTAssertThrowsError(try ImageTensor(channels: 3, height: 2, width: 2, values: [1]))
    }
}

import Foundation
import GraftImage
import GraftTestSupport
import XCTest

/// Every augmentation with fixed parameters against torchvision 0.29.2 on the real photos of
/// Fixtures/demo/real (`Fixtures/augment/manifest.json`, written by `tools/make_augment_fixtures.py`):
/// byte-for-byte, compared through the sha256 of the output's RGB bytes.
final class AugmentExactnessTests: XCTestCase {
    struct Manifest: Decodable {
        struct Input: Decodable { let photo: String; let width: Int; let height: Int; let sha256: String }
        struct Case: Decodable { let op: String; let parameters: [String: JSONValue]; let sha256: [String: String] }
        struct OpSpace: Decodable { let signed: Bool; let magnitudes: [String: [Double]]; let sha256: [String: String] }
        let inputs: [String: Input]
        let cases: [Case]
        let op_spaces: [String: [String: OpSpace]]
        let erasing: [Erase]
    }

    /// `[input, [top, left, height, width], sha256 of the float32 CHW bytes]`.
    struct Erase: Decodable {
        let input: String, box: [Int], sha256: String
        init(from decoder: Decoder) throws {
            var c = try decoder.unkeyedContainer()
            input = try c.decode(String.self)
            box = try c.decode([Int].self)
            sha256 = try c.decode(String.self)
        }
    }

    /// The JSON values of the manifest's parameters: numbers, lists of numbers, or null.
    enum JSONValue: Decodable {
        case number(Double), list([Double]), null
        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if c.decodeNil() { self = .null } else if let v = try? c.decode(Double.self) { self = .number(v) } else {
                self = .list(try c.decode([Double].self))
            }
        }
        var number: Double? { if case .number(let v) = self { return v } else { return nil } }
        var list: [Double]? { if case .list(let v) = self { return v } else { return nil } }
    }

    static let manifest: Manifest? = {
        guard let data = FileManager.default.contents(atPath: TestPaths.fixture("augment/manifest.json")) else { return nil }
        return try? JSONDecoder().decode(Manifest.self, from: data)
    }()

    /// The inputs the script used: each photo decoded and resized with PIL's bilinear filter.
    func inputs(_ m: Manifest) throws -> [String: RGBImage] {
        var out: [String: RGBImage] = [:]
        for (key, input) in m.inputs {
            let photo = try ImageDecoder.decode(path: TestPaths.fixture("demo/real/\(input.photo)"))
            let image = try Resampler.resize(photo, width: input.width, height: input.height, filter: .bilinear)
            XCTAssertEqual(sha256Hex(image.pixels), input.sha256, "input \(key) differs from Pillow's")
            out[key] = image
        }
        XCTAssertEqual(out.count, 6, "three photos at two sizes")
        return out
    }

    func testFixedParameterOperationsMatchTorchvisionByteForByte() throws {
        let m = try XCTUnwrap(Self.manifest, "Fixtures/augment/manifest.json is missing or unreadable")
        let images = try inputs(m)
        var mismatches: [String] = []
        for c in m.cases {
            for (key, expected) in c.sha256.sorted(by: { $0.key < $1.key }) {
                let out = try apply(c.op, c.parameters, try XCTUnwrap(images[key]))
                if sha256Hex(out.pixels) != expected { mismatches.append("\(c.op) \(c.parameters) on \(key)") }
            }
        }
        XCTAssertEqual(m.cases.count, 74)
        XCTAssertEqual(mismatches, [], "\(mismatches.count) of \(m.cases.count * images.count) outputs differ")
    }

    func testAutoAugmentOperationsMatchAtEveryBinAndSign() throws {
        let m = try XCTUnwrap(Self.manifest)
        let images = try inputs(m)
        var mismatches: [String] = []
        for (name, space) in [("trivial", AutoAugmentSpace.trivialAugmentWide), ("randaugment", .randAugment)] {
            let ops = try XCTUnwrap(m.op_spaces[name])
            XCTAssertEqual(Set(ops.keys), Set(AutoAugmentOp.allCases.map(\.rawValue)))
            for op in AutoAugmentOp.allCases {
                let expected = try XCTUnwrap(ops[op.rawValue])
                XCTAssertEqual(op.isSigned, expected.signed, op.rawValue)
                for (key, image) in images.sorted(by: { $0.key < $1.key }) {
                    let table = space.magnitudes(op, bins: 31, width: image.width, height: image.height)
                    XCTAssertEqual(table, expected.magnitudes[String(key.split(separator: "/")[1])],
                                   "\(name) \(op.rawValue) magnitudes")
                    var bytes: [UInt8] = []
                    for magnitude in table ?? [0] {
                        for signed in op.isSigned ? [magnitude, -magnitude] : [magnitude] {
                            bytes += op.apply(image, magnitude: signed).pixels
                        }
                    }
                    if sha256Hex(bytes) != expected.sha256[key] { mismatches.append("\(name) \(op.rawValue) on \(key)") }
                }
            }
        }
        XCTAssertEqual(mismatches, [])
    }

    func testErasingTheNormalizedTensorMatches() throws {
        let m = try XCTUnwrap(Self.manifest)
        let images = try inputs(m)
        XCTAssertEqual(m.erasing.count, 18)
        for e in m.erasing {
            let image = try XCTUnwrap(images[e.input])
            let tensor = try ImageTransforms.normalize(ImageTransforms.toScaledTensor(image),
                                                       mean: ClassificationPreset.imagenetMean,
                                                       std: ClassificationPreset.imagenetStd)
            let erased = RandomErasing.erase(tensor, top: e.box[0], left: e.box[1], height: e.box[2], width: e.box[3])
            XCTAssertEqual(erased.values.withUnsafeBytes { sha256Hex($0) }, e.sha256, "\(e.input) \(e.box)")
        }
    }

    private func apply(_ op: String, _ p: [String: JSONValue], _ image: RGBImage) throws -> RGBImage {
        func n(_ key: String) throws -> Double { try XCTUnwrap(p[key]?.number, "\(op) needs \(key)") }
        switch op {
        case "rotate": return AffineWarp.rotate(image, degrees: try n("angle"))
        case "affine":
            let t = try XCTUnwrap(p["translate"]?.list), sh = try XCTUnwrap(p["shear"]?.list)
            let center = p["center"]?.list.map { ($0[0], $0[1]) }
            return AffineWarp.affine(image, angle: try n("angle"), translate: (t[0], t[1]), scale: try n("scale"),
                                     shear: (sh[0], sh[1]), center: center)
        case "brightness": return ColorAdjust.brightness(image, factor: try n("factor"))
        case "contrast": return ColorAdjust.contrast(image, factor: try n("factor"))
        case "saturation": return ColorAdjust.saturation(image, factor: try n("factor"))
        case "sharpness": return ColorAdjust.sharpness(image, factor: try n("factor"))
        case "hue": return ToneCurves.hue(image, factor: try n("factor"))
        case "posterize": return ToneCurves.posterize(image, bits: Int(try n("bits")))
        case "solarize": return ToneCurves.solarize(image, threshold: try n("threshold"))
        case "autocontrast": return ToneCurves.autocontrast(image)
        case "equalize": return ToneCurves.equalize(image)
        case "jitter":
            let order = try XCTUnwrap(p["order"]?.list).map { Int($0) }
            let params = ColorJitter.Parameters(order: order, brightness: p["brightness"]?.number,
                                                contrast: p["contrast"]?.number, saturation: p["saturation"]?.number,
                                                hue: p["hue"]?.number)
            return ColorJitter.apply(image, params)
        default:
            XCTFail("unknown op \(op)")
            return image
        }
    }
}

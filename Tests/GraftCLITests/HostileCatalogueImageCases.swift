import Foundation
import GraftTestSupport

/// Images for predict, preprocess and features (cuts, flipped checksums, headers declaring bombs or
/// nothing), and the image folders finetune trains on.
enum ImageCases {
    static let jpeg = "images/jpeg_444_37x29.jpg"
    static let png = "images/png_rgb8_37x29.png"

    /// A PNG whose IHDR says `width`×`height` (its CRC recomputed, so only the size is wrong).
    static func pngSized(_ width: UInt32, _ height: UInt32, depth: UInt8 = 8, colorType: UInt8 = 2) throws -> [UInt8] {
        var b = try Mutate.fixture(png)
        for (i, v) in [width, height].enumerated() {
            for k in 0..<4 { b[16 + 4 * i + k] = UInt8(truncatingIfNeeded: v >> (24 - 8 * UInt32(k))) }
        }
        b[24] = depth
        b[25] = colorType
        let crc = ZipBuilder.crc32(Array(b[12..<29]))
        for k in 0..<4 { b[29 + k] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(k))) }
        return b
    }

    /// A JPEG whose baseline SOF says `width`×`height`.
    static func jpegSized(_ width: UInt16, _ height: UInt16) throws -> [UInt8] {
        var b = try Mutate.fixture(jpeg)
        guard let sof = Mutate.firstIndex(of: [0xFF, 0xC0], in: b) else { throw Mutate.MutationError.notFound("SOF0") }
        b[sof + 5] = UInt8(height >> 8); b[sof + 6] = UInt8(height & 0xFF)
        b[sof + 7] = UInt8(width >> 8); b[sof + 8] = UInt8(width & 0xFF)
        return b
    }

    static let imageReasons = ["truncated", "corrupt", "not a JPEG or PNG", "cannot read", "exceeds the limit", "unsupported"]

    /// (name, file name, bytes, reasons).
    static let images: [(String, String, @Sendable () throws -> [UInt8], [String])] = [
        ("empty", "empty.jpg", { [] }, ["not a JPEG or PNG", "truncated", "cannot read"]),
        ("three_bytes", "three.png", { [0x89, 0x50, 0x4E] }, ["not a JPEG or PNG", "truncated"]),
        ("text", "text.jpg", { Array("not an image at all".utf8) }, ["not a JPEG or PNG"]),
        ("gif", "anim.gif", { Array("GIF89a".utf8) + [UInt8](repeating: 0, count: 40) }, ["not a JPEG or PNG"]),
        ("png_40000x40000", "bomb.png", { try pngSized(40_000, 40_000) }, ["exceeds the limit"]),
        ("png_1x200000", "strip.png", { try pngSized(1, 200_000) }, ["exceeds the limit", "corrupt"]),
        ("png_width_zero", "zero.png", { try pngSized(0, 29) }, ["corrupt", "truncated"]),
        ("png_2e31", "wide.png", { try pngSized(0x8000_0000, 1) }, ["corrupt", "exceeds the limit"]),
        ("png_depth_3", "depth3.png", { try pngSized(37, 29, depth: 3) }, ["corrupt", "unsupported"]),
        ("png_color_7", "color7.png", { try pngSized(37, 29, colorType: 7) }, ["corrupt", "unsupported"]),
        ("png_ihdr_crc", "ihdr_crc.png", { Mutate.flipped(try Mutate.fixture(png), at: 30) }, ["corrupt"]),
        ("png_idat_flip", "idat.png", {
            let b = try Mutate.fixture(png)
            guard let at = Mutate.firstIndex(of: Array("IDAT".utf8), in: b) else { throw Mutate.MutationError.notFound("IDAT") }
            return Mutate.flipped(b, at: at + 12)
        }, ["corrupt", "truncated"]),
        ("jpeg_65535x65535", "bomb.jpg", { try jpegSized(65_535, 65_535) }, ["Maximum supported image dimension is 65500"]),
        ("jpeg_width_zero", "zero.jpg", { try jpegSized(0, 29) }, ["corrupt", "truncated"]),
        ("jpeg_no_soi", "nosoi.jpg", { Array(try Mutate.fixture(jpeg).dropFirst(2)) }, ["not a JPEG or PNG"]),
        ("jpeg_only_soi", "soi.jpg", { [0xFF, 0xD8, 0xFF] }, ["truncated", "corrupt"]),
        ("png_signature_only", "sig.png", { Array(try Mutate.fixture(png).prefix(8)) }, ["truncated", "corrupt"]),
    ]

    static let fractions: [Double] = [0.1, 0.3, 0.5, 0.7, 0.9, 0.98]

    static func command(_ i: Int) -> [String] {
        [
            ["predict", "--arch", "resnet", "--checkpoint", "@torch/resnet18_mini.pth", "{in}"],
            ["preprocess", "--arch", "resnet18", "{in}", "--output", "{out}/p.npy"],
            ["features", "--arch", "resnet", "--checkpoint", "@torch/resnet18_mini.pth", "--layer", "pool",
             "--output", "{out}/f.npy", "{in}"],
        ][i % 3]
    }

    static var cases: [HostileCase] {
        var out: [HostileCase] = []
        for (i, (name, file, bytes, reasons)) in images.enumerated() {
            for j in 0..<2 {
                out.append(HostileCase("image.\(name).\(j)", .bytes(file, bytes), command(i + j), reasons))
            }
        }
        for (i, f) in fractions.enumerated() {
            let tag = Int(f * 100)
            out.append(HostileCase("cut.jpeg.\(tag)", .bytes("cut\(tag).jpg", {
                Mutate.truncated(try Mutate.fixture(jpeg), fraction: f)
            }), command(i), ["truncated", "corrupt"]))
            out.append(HostileCase("cut.png.\(tag)", .bytes("cut\(tag).png", {
                Mutate.truncated(try Mutate.fixture(png), fraction: f)
            }), command(i + 1), ["truncated", "corrupt"]))
        }
        out.append(HostileCase("image.directory", .folder("folder.jpg", { _ in }), command(0), ["not a regular file", "cannot read"]))
        out.append(HostileCase("image.dev_zero", .path("/dev/zero"), command(1), ["not a regular file", "cannot read"]))
        out.append(HostileCase("image.missing", .path("/nonexistent/graft/none.png"), command(2), ["cannot read", "No such file"]))
        return out + FolderCases.cases
    }
}

/// Image folders finetune refuses before or after its first epoch, writing nothing.
enum FolderCases {
    static func good() throws -> [UInt8] { try TestPaths.fixtureBytes("demo/images/train/crescent/crescent_000.png") }

    static let folders: [(String, @Sendable (URL) throws -> Void, [String])] = [
        ("empty_folder", { _ in }, ["no", "class", "image"]),
        ("corrupt_train_class", { dir in
            try Bases.imageFolder(dir, classes: ["a", "b"], files: ["x.png": try good()])
            for c in ["b"] {
                let d = dir.appendingPathComponent("train").appendingPathComponent(c)
                try FileManager.default.removeItem(at: d.appendingPathComponent("x.png"))
                try Data([0x89, 0x50, 0x4E, 0x47]).write(to: d.appendingPathComponent("bad.png"))
            }
        }, ["no readable training image", "readable"]),
        ("corrupt_val_class", { dir in
            try Bases.imageFolder(dir, classes: ["a", "b"], files: ["x.png": try good()])
            for c in ["a", "b"] {
                let d = dir.appendingPathComponent("val").appendingPathComponent(c)
                try Data(Array("text".utf8)).write(to: d.appendingPathComponent("x.png"))
            }
        }, ["no validation image could be read"]),
        ("empty_class_folders", { dir in
            for s in ["train", "val"] { for c in ["a", "b"] {
                try FileManager.default.createDirectory(at: dir.appendingPathComponent("\(s)/\(c)"), withIntermediateDirectories: true)
            } }
        }, ["no", "image"]),
        ("val_classes_differ", { dir in
            try Bases.imageFolder(dir, classes: ["a", "b"], files: ["x.png": try good()], splits: ["train"])
            try Bases.imageFolder(dir, classes: ["c", "d"], files: ["x.png": try good()], splits: ["val"])
        }, ["class", "val"]),
        ("only_non_images", { dir in
            try Bases.imageFolder(dir, classes: ["a", "b"], files: ["notes.txt": Array("hello".utf8)])
        }, ["no", "image"]),
        ("single_class", { dir in
            try Bases.imageFolder(dir, classes: ["only"], files: ["x.png": try good()])
        }, ["only one class"]),
        ("fifty_corrupt_images", { dir in
            let bad = Dictionary(uniqueKeysWithValues: (0..<50).map { ("bad\($0).png", [UInt8]([0x89, 0x50, 0x4E, 0x47])) })
            try Bases.imageFolder(dir, classes: ["a", "b"], files: bad)
        }, ["readable", "image"]),
        ("zero_byte_images", { dir in
            try Bases.imageFolder(dir, classes: ["a", "b"], files: ["x.png": [], "y.jpg": []])
        }, ["readable", "image"]),
    ]

    static var cases: [HostileCase] {
        var out = folders.map { name, fill, reasons in
            HostileCase("finetune.\(name)", .folder("data_\(name)", fill),
                        ["finetune", "--arch", "resnet", "--weights", "ResNet18_Weights.IMAGENET1K_V1", "--checkpoint", "@torch/resnet18_mini.pth",
                         "--data", "{in}", "--epochs", "1", "--batch", "2", "--lr", "1e-3", "--output", "{out}/ft.safetensors"], reasons, warnsFirst: true)
        }
        out.append(HostileCase("finetune.data_is_file", .bytes("data.txt", { Array("x".utf8) }),
                               ["finetune", "--arch", "resnet", "--checkpoint", "@torch/resnet18_mini.pth", "--data", "{in}",
                                "--epochs", "1", "--output", "{out}/ft.safetensors"], ["folder", "directory"]))
        return out
    }
}

import Foundation
import GraftCore

/// A timm hub folder as `save_for_hf` writes it and the Hugging Face cache keeps it: the weights
/// (`model.safetensors`, else `pytorch_model.bin`) beside a `config.json` naming the architecture and
/// its `pretrained_cfg`. Found from the folder, a file inside it, a cache snapshot
/// (`models--timm--NAME/snapshots/REV/`, whose files are symlinks into `../../blobs`) or the cache's
/// repository folder itself (the snapshot `refs/main` names).
public struct TimmFolder: Sendable {
    public let directory: String
    public let weightsPath: String
    public let configPath: String
    public let config: TimmConfig

    /// The files a timm folder's weights may be in, in the order timm's hub loader prefers them.
    public static let weightFiles = ["model.safetensors", "pytorch_model.bin"]
    static let memberFiles = weightFiles + ["config.json"]

    /// The timm folder `path` is or lies in; nil when `path` is an ordinary checkpoint file (not one
    /// of a folder's member names, or with no `config.json` beside it). A directory that is no timm
    /// folder, a folder without weights and an unreadable `config.json` are `TimmFolderError`s.
    public static func locate(_ path: String) throws -> TimmFolder? {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { return nil }
        let directory: String
        if isDirectory.boolValue {
            directory = try snapshotDirectory(path) ?? path
        } else {
            let name = (path as NSString).lastPathComponent
            let parent = (path as NSString).deletingLastPathComponent
            guard memberFiles.contains(name), exists((parent.isEmpty ? "." : parent) + "/config.json") else { return nil }
            directory = parent.isEmpty ? "." : parent
        }
        let configPath = directory + "/config.json"
        guard exists(configPath) else { throw TimmFolderError.notATimmFolder(directory) }
        guard let weights = weightFiles.map({ directory + "/" + $0 }).first(where: exists) else {
            throw TimmFolderError.noWeights(directory)
        }
        let config = try TimmConfig.read(configPath)
        return TimmFolder(directory: directory, weightsPath: weights, configPath: configPath, config: config)
    }

    /// For a cache repository folder (`models--timm--NAME`): the snapshot `refs/main` names, or the
    /// only snapshot. Nil for any other directory.
    static func snapshotDirectory(_ path: String) throws -> String? {
        let snapshots = path + "/snapshots"
        var isDirectory: ObjCBool = false
        guard !exists(path + "/config.json"), FileManager.default.fileExists(atPath: snapshots, isDirectory: &isDirectory),
              isDirectory.boolValue else { return nil }
        if let ref = try? BoundedFile.read(path + "/refs/main", limit: 256) {
            let revision = String(decoding: ref, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
            // A revision is a commit hash: anything else (a path, `..`) is not followed.
            guard !revision.isEmpty, revision.count <= 64, revision.allSatisfy({ $0.isHexDigit }) else {
                throw TimmFolderError.badReference(path + "/refs/main")
            }
            return snapshots + "/" + revision
        }
        let revisions = ((try? FileManager.default.contentsOfDirectory(atPath: snapshots)) ?? []).filter { !$0.hasPrefix(".") }
        guard revisions.count == 1 else { throw TimmFolderError.ambiguousSnapshots(path, count: revisions.count) }
        return snapshots + "/" + revisions[0]
    }

    /// Whether `path` exists as a file (following symlinks, as the cache's blobs are reached).
    static func exists(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) && !isDirectory.boolValue
    }
}

/// A timm folder that cannot be used, naming the file and what is wrong with it.
public enum TimmFolderError: Error, CustomStringConvertible, Equatable {
    case notATimmFolder(String)
    case noWeights(String)
    case badReference(String)
    case ambiguousSnapshots(String, count: Int)
    case tooLarge(file: String, limit: Int)
    case unreadable(file: String, reason: String)
    case badField(file: String, field: String, reason: String)

    public var description: String {
        switch self {
        case .notATimmFolder(let d):
            return "\(SafeText.quoted(d)) is a directory without a config.json: not a timm folder"
        case .noWeights(let d):
            return "the timm folder \(SafeText.quoted(d)) has a config.json but no model.safetensors or pytorch_model.bin"
        case .badReference(let f): return "\(SafeText.quoted(f)) does not name a snapshot revision"
        case .ambiguousSnapshots(let d, let n):
            return "\(SafeText.quoted(d)) has \(n) snapshots and no refs/main: name the snapshot folder"
        case .tooLarge(let f, let limit): return "\(SafeText.quoted(f)) is larger than \(limit) bytes, more than a timm config holds"
        case .unreadable(let f, let reason): return "\(SafeText.quoted(f)) cannot be read as a timm config: \(reason)"
        case .badField(let f, let field, let reason): return "\(SafeText.quoted(f)): \(field) \(reason)"
        }
    }
}

/// Reads at most `limit` bytes of a file: a longer file is an error, never read whole.
enum BoundedFile {
    static func read(_ path: String, limit: Int) throws -> Data {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw TimmFolderError.unreadable(file: path, reason: "cannot be opened")
        }
        defer { try? handle.close() }
        let data = (try? handle.read(upToCount: limit + 1)) ?? Data()
        guard data.count <= limit else { throw TimmFolderError.tooLarge(file: path, limit: limit) }
        return data
    }
}

extension WeightStore {
    /// The same store (source, format, metadata, hash) over other entries: a foreign naming mapped
    /// onto Graft's by a layer that knows the rules.
    public func replacingEntries(_ entries: [WeightEntry]) -> WeightStore {
        WeightStore(sourcePath: sourcePath, format: format, entries: entries, metadata: metadata, sourceHash: sourceHash)
    }
}

// libFuzzer entry points for Graft's parsers of untrusted bytes.
//
// `make fuzz` builds this with `-sanitize=fuzzer -D FUZZING`; the target is chosen by the
// GRAFT_FUZZ_TARGET environment variable (pickle, safetensors, zip, torch, hdf5). Built plainly it replays
// files instead: `graft-fuzz TARGET FILE...` runs each file through the same code, which is how a
// crash found by the fuzzer is reproduced and then kept as a regression test.

import Foundation
import GraftCore
import GraftHDF5
import GraftKeras
import GraftPickle
import GraftSafetensors
import GraftTorch
import GraftZip

enum FuzzTarget: String, CaseIterable {
    case pickle, safetensors, zip, torch, hdf5
}

/// Tight limits so a mutated size field cannot make one execution allocate gigabytes.
let zipLimits = ZipLimits(maxEntries: 4096, maxEntrySize: 64 << 20, compressionRatioFloor: 1 << 20)
let pickleLimits = PickleLimits(maxOperations: 1_000_000, maxNodes: 200_000)
let scratchPath = "/dev/shm/graft-fuzz-\(getpid()).bin"
/// HDF5's bounds lowered the same way: a mutated dataspace may declare at most 64 MiB.
let hdf5Limits: HDF5Limits = {
    var l = HDF5Limits()
    l.bombFloorBytes = 1 << 20
    l.maxDatasetBytes = 64 << 20
    l.maxAttributeBytes = 1 << 20
    l.maxObjects = 10_000
    return l
}()

func runOne(_ target: FuzzTarget, _ data: UnsafeRawBufferPointer) {
    switch target {
    case .pickle:
        _ = try? PickleMachine(allowedGlobals: TorchCheckpoint.allowedGlobals, limits: pickleLimits).decode(data)
    case .safetensors:
        _ = try? Safetensors.parse(data)
    case .hdf5:
        // libhdf5 (the largest untrusted-input surface: C code) opens files by path: through the
        // scratch file, then the Keras reader over it, every tensor read through its filters.
        guard FileManager.default.createFile(atPath: scratchPath, contents: Data(data)),
              let weights = try? KerasWeights.read(path: scratchPath, options: KerasImportOptions(limits: hdf5Limits))
        else { return }
        for entry in weights.tensors { _ = try? entry.tensor.load() }
    case .zip, .torch:
        // libzip reads from a file descriptor, so the input goes through a scratch file in RAM.
        guard FileManager.default.createFile(atPath: scratchPath, contents: Data(data)) else { return }
        if target == .zip {
            guard let archive = try? ZipArchive(path: scratchPath, limits: zipLimits) else { return }
            for entry in archive.entries {
                _ = try? archive.read(entry)
                _ = try? archive.mappedRead(entry)
            }
        } else {
            var options = TorchImportOptions(pickleLimits: pickleLimits, zipLimits: zipLimits)
            options.allowMissingCRC = true
            guard let checkpoint = try? TorchCheckpoint.open(path: scratchPath, options: options) else { return }
            loadAll(checkpoint.root)
        }
    }
}

/// Materializes every tensor (strided views, byte swaps) so those paths are fuzzed too.
func loadAll(_ value: CheckpointValue) {
    switch value {
    case .tensor(let t): _ = try? t.load()
    case .dict(let items): items.forEach { loadAll($0.value) }
    case .list(let items): items.forEach(loadAll)
    case .other: break
    }
}

#if FUZZING
let selectedTarget: FuzzTarget = {
    let name = ProcessInfo.processInfo.environment["GRAFT_FUZZ_TARGET"] ?? ""
    guard let t = FuzzTarget(rawValue: name) else {
        FileHandle.standardError.write(Data("set GRAFT_FUZZ_TARGET to one of pickle, safetensors, zip, torch, hdf5\n".utf8))
        exit(2)
    }
    return t
}()

/// libFuzzer's driver entry (in the fuzzer runtime that `-sanitize=fuzzer` links).
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32) -> Int32

@main
enum FuzzMain {
    // SwiftPM gives every executable its own `main`, so hand control to libFuzzer's driver from it.
    static func main() {
        var argc = CommandLine.argc
        var argv = CommandLine.unsafeArgv
        _ = selectedTarget
        let status = LLVMFuzzerRunDriver(&argc, &argv) { data, size in
            runOne(selectedTarget, UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
        exit(status)
    }
}
#else
@main
enum Replay {
    static func main() {
        let arguments = CommandLine.arguments
        guard arguments.count >= 3, let target = FuzzTarget(rawValue: arguments[1]) else {
            print("usage: graft-fuzz pickle|safetensors|zip|torch|hdf5 FILE...")
            exit(2)
        }
        for path in arguments.dropFirst(2) {
            guard let data = FileManager.default.contents(atPath: path) else { print("cannot read \(path)"); exit(2) }
            data.withUnsafeBytes { runOne(target, $0) }
            print("ok \(path)")
        }
        try? FileManager.default.removeItem(atPath: scratchPath)
    }
}
#endif

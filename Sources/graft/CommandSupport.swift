import ArgumentParser
import Foundation
import Graft

/// Exit codes: 0 success, 1 a check that ran but failed (verify out of tolerance), 2 bad input.
enum Exit {
    static let badInput = ExitCode(2)
    static let checkFailed = ExitCode(1)
}

/// Runs `body`, turning any error about `file` into one line on stderr and exit code 2.
@discardableResult
func reportingErrors<T>(file: String, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let exit as ExitCode {
        throw exit
    } catch let error as PreprocessingRecordError {
        // It names its store itself.
        printError("graft: error: \(String(describing: error).escapedForTerminal)")
        throw Exit.badInput
    } catch let error as NamesItsFile {
        printError("graft: error: \(String(describing: error).escapedForTerminal)")
        throw Exit.badInput
    } catch {
        printError("graft: error: \(file.escapedForTerminal): \(String(describing: error).escapedForTerminal)")
        throw Exit.badInput
    }
}

/// A refusal the command decides itself: one line naming the file, then exit 2 (throw the result).
func reportRefusal(file: String, _ reason: String) -> Error {
    printError("graft: error: \(file.escapedForTerminal): \(reason.escapedForTerminal)")
    return Exit.badInput
}

/// The command's error line: one write, and never beside a fault handler's own line (FatalSignals).
func printError(_ line: String) {
    FatalSignals.writeErrorLine(line)
}

/// A warning on stderr; the work goes on.
func printWarning(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Options every command that opens a checkpoint shares.
struct OpenOptions: ParsableArguments {
    @Flag(help: "Read torch archives whose records carry no CRC (written with torch's CRC disabled).")
    var allowMissingCRC = false

    @Flag(name: .customLong("ema"), help: "Prefer EMA weights (state_dict_ema, model_ema) when the checkpoint has both.")
    var preferEMA = false

    @Option(help: "Take the weights from this top-level key of the checkpoint instead of choosing automatically.")
    var key: String?

    var storeOptions: StoreOpenOptions {
        var o = StoreOpenOptions()
        o.torch.allowMissingCRC = allowMissingCRC
        o.normalizer = StateDictNormalizer(preferEMA: preferEMA, key: key)
        return o
    }

    /// Opens `path` (a file or a timm folder) with these options. `hashSource: false` skips the source sha256 (nothing that
    /// only reads the weights records it).
    func open(_ path: String, hashSource: Bool = true, readsData: Bool = true) throws -> WeightStore {
        var options = storeOptions
        options.hashSource = hashSource
        options.readsData = readsData
        return try WeightStore.openCheckpoint(path, options: options)
    }
}

/// The store's warnings (a torchvision-style name whose hash does not match) on stderr.
func printWarnings(_ store: WeightStore, file: String) {
    for w in store.warnings { printWarning("graft: warning: \(file.escapedForTerminal): \(w)") }
}

extension String {
    /// Control characters and bidi overrides (a terminal escape in a hostile tensor name) shown as \u{…}.
    var escapedForTerminal: String { SafeText.line(self) }
}

extension Int {
    /// 102228128 → "102,228,128".
    var grouped: String {
        let digits = String(self.magnitude)
        var out = ""
        for (i, c) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (self < 0 ? "-" : "") + out
    }
}

/// Pretty JSON for `--json` outputs.
func printJSON<T: Encodable>(_ value: T) throws {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    print(String(decoding: try encoder.encode(value), as: UTF8.self))
}

extension InferenceEngineChoice: ExpressibleByArgument {
    static let help: ArgumentHelp = "Inference engine: graft (Graft's own kernels), xnnpack (the network lowered to XNNPACK), auto (XNNPACK where it covers the network, except VGG and ConvNeXt, measured faster on Graft's kernels; where many batches follow — bench, predict on 16 or more images — the faster of the two, timed on the first batch)."
}

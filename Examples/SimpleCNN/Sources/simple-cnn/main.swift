import Foundation
import Graft
import SimpleCNNModels

// simple-cnn predict --checkpoint FILE.pth --input X.npy --output Y.npy
// simple-cnn train --data DIR [--epochs 10] [--lr 0.05] [--seed 0] --output lenet.pth

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("simple-cnn: error: \(message)\n".utf8))
    exit(2)
}

let args = Array(CommandLine.arguments.dropFirst())
func option(_ name: String) -> String? {
    guard let i = args.firstIndex(of: "--\(name)"), i + 1 < args.count else { return nil }
    return args[i + 1]
}
func required(_ name: String) -> String {
    guard let value = option(name) else { fail("--\(name) is required") }
    return value
}

do {
    switch args.first {
    case "predict":
        let net = SimpleCNN(numClasses: 10)
        try net.loadCheckpoint(required("checkpoint"))
        let x = try NpyArray(contentsOfFile: required("input"))
        net.prepareInference()
        let y = try net(try Tensor(shape: x.shape, values: x.values))
        try NpyArray(shape: y.shape, values: y.values).write(toFile: required("output"))
        print("SimpleCNN logits \(y.shape) -> \(required("output"))")
    case "train":
        let (model, accuracy) = try trainLeNet(data: required("data"), epochs: Int(option("epochs") ?? "10") ?? 10,
                                               learningRate: Double(option("lr") ?? "0.05") ?? 0.05,
                                               seed: UInt64(option("seed") ?? "0") ?? 0, log: { print($0) })
        try model.network.saveTorch(to: required("output"))
        print("LeNet-5: val accuracy \(accuracy.last ?? 0) -> \(required("output"))")
    default:
        fail("usage: simple-cnn predict --checkpoint FILE.pth --input X.npy --output Y.npy | "
             + "simple-cnn train --data DIR [--epochs N] [--lr LR] [--seed S] --output FILE.pth")
    }
} catch {
    fail(String(describing: error))
}

import Graft

// A small CNN built from modules; its state-dict keys are what PyTorch's
// nn.Sequential(OrderedDict(conv1=..., bn1=..., ...)) of the same layers has.
let net = Sequential(named: [
    "conv1": Conv2d(3, 16, kernelSize: 3, padding: 1), "bn1": BatchNorm2d(16), "relu1": ReLU(), "pool1": MaxPool2d(kernelSize: 2),
    "conv2": Conv2d(16, 32, kernelSize: 3, padding: 1), "bn2": BatchNorm2d(32), "relu2": ReLU(), "pool2": MaxPool2d(kernelSize: 2),
    "flatten": Flatten(), "fc": Linear(32 * 8 * 8, 10),             // 32×32 input → 32 maps of 8×8
])
net.initialize(seed: 0, scheme: .kaiming)                       // kaiming_normal convs, N(0, 0.01) linear
let model = try Model(network: net, arch: "small_cnn", classifierPath: "fc")

let data = try ImageFolder.load(CommandLine.arguments[1])       // DIR/train/<class>/…, DIR/val/<class>/…
let preset = ClassificationPreset(resizeSize: 32, cropSize: 32, mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5])
var settings = FineTuneSettings.fromScratch(epochs: 4, learningRate: 0.05)
settings.augment = false                                        // digits: no flips
let tuner = try FineTuner(model: model, data: data, pipeline: .torchvision(preset), settings: settings)
tuner.onEpoch = { report, _ in print("epoch \(report.epoch): val accuracy \(report.valAccuracy)") }
try tuner.run()
try net.saveTorch(to: "small_cnn.pth")                          // torch: load_state_dict(torch.load(…), strict=True)

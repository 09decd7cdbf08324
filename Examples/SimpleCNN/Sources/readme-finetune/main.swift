import Graft

// finetune ARCH CHECKPOINT DATA_DIR: a pretrained torchvision model, a new head, everything before
// layer3 frozen by module path, discriminative learning rates, the result saved as a store.
let args = CommandLine.arguments
let model = try ModelLoader.load(arch: args[1], store: try WeightStore.open(args[2])).model
let data = try ImageFolder.load(args[3])

let head = Linear(model.featureCount, data.classes.count)
head.initialize(seed: 0)                                        // PyTorch's default init
try model.replaceClassifier(head)                               // at the same path, `fc`

var settings = FineTuneSettings()
settings.freeze = .until("layer3")                              // conv1 … layer2 stay frozen
settings.learningRate = .range(1e-4, 1e-2)                      // fastai's slice(1e-4, 1e-2) over the groups
settings.epochs = 5
let tuner = try FineTuner(model: model, data: data, pipeline: .torchvision(.imagenetV1), settings: settings)
tuner.onEpoch = { report, _ in print("epoch \(report.epoch): val accuracy \(report.valAccuracy)") }
try tuner.run()
print("trainable:", model.network.trainableParameters().map(\.name).prefix(3), "…")
try model.network.saveSafetensors(to: "finetuned.safetensors")

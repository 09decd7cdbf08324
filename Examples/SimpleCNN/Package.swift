// swift-tools-version:6.0
//
// The CNN course's two reference networks (../../../shared/reference/simple_cnn.md), written with
// Graft's public module API only: SimpleCNN (a custom block with its forward and backward) and LeNet-5
// (a named Sequential). `simple-cnn predict` runs a PyTorch-trained SimpleCNN checkpoint; `simple-cnn
// train` trains LeNet-5 from scratch on an image folder and exports a .pth PyTorch loads strictly.

import PackageDescription

let package = Package(
    name: "SimpleCNN",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "simple-cnn", targets: ["simple-cnn"]),
        .executable(name: "readme-train-small-cnn", targets: ["readme-train-small-cnn"]),
        .executable(name: "readme-finetune", targets: ["readme-finetune"]),
    ],
    dependencies: [.package(name: "Graft", path: "../..")],
    targets: [
        .target(name: "SimpleCNNModels", dependencies: [.product(name: "Graft", package: "Graft")]),
        .executableTarget(name: "simple-cnn", dependencies: ["SimpleCNNModels"]),
        // The README's two Swift programs, verbatim (the tests check they equal the README's text).
        .executableTarget(name: "readme-train-small-cnn", dependencies: [.product(name: "Graft", package: "Graft")]),
        .executableTarget(name: "readme-finetune", dependencies: [.product(name: "Graft", package: "Graft")]),
        .testTarget(name: "SimpleCNNTests", dependencies: ["SimpleCNNModels"]),
    ]
)

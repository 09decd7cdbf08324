// swift-tools-version:6.0
//
// Graft: pretrained CNN weights (PyTorch .pth, Keras .h5) → a native safetensors store →
// Swift ResNet / VGG / EfficientNet graphs with exact preprocessing → fine-tuning.
//
// The targets form a one-way flow:
//   byte parsers (zip, pickle, safetensors, HDF5)  →  weight store  →  tensors / NN kernels
//   →  model zoo  →  fine-tune  →  CLI
// Every parser of untrusted bytes is a small target of its own with no model code.

import PackageDescription

/// Pointer-heavy numeric targets: Swift 5 language mode (the kernels share raw buffers across
/// threads on purpose) and `-Ounchecked`, so even a debug build runs the loops at full speed.
let kernelSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v5),
    .unsafeFlags(["-Ounchecked"]),
]

let package = Package(
    name: "Graft",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Graft", targets: ["Graft"]),
        .executable(name: "graft", targets: ["graft"]),
        .executable(name: "graft-fuzz", targets: ["GraftFuzz"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.0.0"),
    ],
    targets: [
        // MARK: - System libraries (Debian -dev packages, found through pkg-config)
        .systemLibrary(name: "CZip", pkgConfig: "libzip", providers: [.apt(["libzip-dev"])]),
        .systemLibrary(name: "CHDF5", pkgConfig: "hdf5", providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CJPEG", pkgConfig: "libjpeg", providers: [.apt(["libjpeg-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        /// libjpeg and libpng report errors by longjmp, which Swift cannot host: this C glue
        /// keeps the setjmp frame on the C side and returns plain error strings.
        .target(name: "CImageCodecs", dependencies: ["CJPEG", "CPNG"]),

        // MARK: - Byte parsers of untrusted input (no model code)
        .target(name: "GraftCore"),
        .target(name: "GraftZip", dependencies: ["GraftCore", "CZip"]),
        .target(name: "GraftPickle", dependencies: ["GraftCore"]),
        .target(name: "GraftSafetensors", dependencies: ["GraftCore"]),
        .target(name: "GraftHDF5", dependencies: ["GraftCore", "CHDF5"]),

        // MARK: - Checkpoint formats and the native weight store
        .target(name: "GraftTorch", dependencies: ["GraftCore", "GraftZip", "GraftPickle"]),
        .target(name: "GraftKeras", dependencies: ["GraftCore", "GraftHDF5"]),
        .target(
            name: "GraftStore",
            dependencies: [
                "GraftCore", "GraftSafetensors", "GraftTorch", "GraftKeras", "GraftHDF5",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        // MARK: - Numerics, layers, images
        .target(name: "GraftTensor", dependencies: ["GraftCore", "COpenBLAS"], swiftSettings: kernelSettings),
        .target(name: "GraftNN", dependencies: ["GraftCore", "GraftTensor"], swiftSettings: kernelSettings),
        .target(name: "GraftImage", dependencies: ["GraftCore", "CImageCodecs"], swiftSettings: kernelSettings),

        // MARK: - Model zoo, fine-tuning, umbrella, CLI
        .target(
            name: "GraftModels",
            dependencies: ["GraftCore", "GraftStore", "GraftTensor", "GraftNN", "GraftImage"],
            resources: [.copy("Resources/imagenet_classes.txt")],
            swiftSettings: [.swiftLanguageMode(.v5)]),
        .target(
            name: "GraftTrain", dependencies: ["GraftCore", "GraftStore", "GraftModels", "GraftNN", "GraftTensor", "GraftImage"],
            swiftSettings: kernelSettings),
        .target(
            name: "Graft",
            dependencies: [
                "GraftCore", "GraftZip", "GraftPickle", "GraftSafetensors", "GraftHDF5", "GraftTorch",
                "GraftKeras", "GraftStore", "GraftTensor", "GraftNN", "GraftImage", "GraftModels",
                "GraftTrain",
            ]),
        .executableTarget(
            name: "graft",
            dependencies: ["Graft", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: [.swiftLanguageMode(.v5)]),
        /// Micro-benchmarks of the GraftTensor kernels (sgemm, conv shape classes, backward).
        .executableTarget(name: "GraftKernelBench", dependencies: ["GraftTensor"], swiftSettings: kernelSettings),
        /// libFuzzer entry points for the byte parsers. Built plain it replays files given on the
        /// command line; `make fuzz` builds it with `-sanitize=fuzzer -D FUZZING`.
        .executableTarget(
            name: "GraftFuzz",
            dependencies: ["GraftZip", "GraftPickle", "GraftSafetensors", "GraftTorch"]),

        // MARK: - Tests
        .target(name: "GraftTestSupport", dependencies: ["GraftCore", .product(name: "Crypto", package: "swift-crypto")], path: "Tests/GraftTestSupport"),
        .testTarget(name: "GraftCoreTests", dependencies: ["GraftCore", "GraftTestSupport"]),
        .testTarget(name: "GraftZipTests", dependencies: ["GraftZip", "GraftTestSupport"]),
        .testTarget(name: "GraftPickleTests", dependencies: ["GraftPickle", "GraftTestSupport"]),
        .testTarget(name: "GraftSafetensorsTests", dependencies: ["GraftSafetensors", "GraftTestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "GraftTorchTests", dependencies: ["GraftTorch", "GraftTestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "GraftStoreTests", dependencies: ["GraftStore", "GraftTestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "GraftTensorTests", dependencies: ["GraftTensor", "GraftTestSupport"]),
        .testTarget(name: "GraftNNTests", dependencies: ["GraftNN", "GraftTestSupport"]),
        .testTarget(name: "GraftImageTests", dependencies: ["GraftImage", "GraftTestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "GraftModelsTests", dependencies: ["GraftModels", "GraftTestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "GraftKerasTests", dependencies: ["GraftKeras", "GraftModels", "GraftTestSupport", .product(name: "Crypto", package: "swift-crypto")]),
        .testTarget(name: "GraftTrainTests", dependencies: ["GraftTrain", "GraftTestSupport"]),
        .testTarget(name: "GraftCLITests", dependencies: ["graft", "GraftStore", "GraftTestSupport"]),
    ]
)

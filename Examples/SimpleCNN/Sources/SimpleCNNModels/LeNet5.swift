import Graft

/// LeNet-5 for grey 32×32 images: a plain chain, so a named `Sequential` is the whole definition —
/// its state-dict keys (`conv1.weight` … `fc3.bias`) are the PyTorch class's, and forward, backward
/// and the inference fusions come with it. (PyTorch's class applies its ReLUs and the flatten as
/// functions; here they are stateless children, which changes no key.)
public func makeLeNet5(numClasses: Int = 10) -> Sequential {
    Sequential(named: [
        "conv1": Conv2d(1, 6, kernelSize: 5), "relu1": ReLU(), "pool1": MaxPool2d(kernelSize: 2),
        "conv2": Conv2d(6, 16, kernelSize: 5), "relu2": ReLU(), "pool2": MaxPool2d(kernelSize: 2),
        "flatten": Flatten(),
        "fc1": Linear(400, 120), "relu3": ReLU(),
        "fc2": Linear(120, 84), "relu4": ReLU(),
        "fc3": Linear(84, numClasses),
    ])
}

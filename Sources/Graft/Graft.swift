// The umbrella module: `import Graft` brings in every public layer of the package.
@_exported import GraftCore
@_exported import GraftZip
@_exported import GraftPickle
@_exported import GraftSafetensors
@_exported import GraftHDF5
@_exported import GraftTorch
@_exported import GraftKeras
@_exported import GraftStore
@_exported import GraftTensor
@_exported import GraftNN
@_exported import GraftImage
@_exported import GraftModels
@_exported import GraftTrain
@_exported import GraftModelsONNX
@_exported import GraftModelsXNN

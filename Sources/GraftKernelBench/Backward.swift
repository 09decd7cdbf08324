import GraftTensor

func benchBackward(_ o: Options) throws {
    print("== backward: not yet implemented")
}

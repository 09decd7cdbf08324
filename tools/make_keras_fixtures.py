#!/usr/bin/env python3
"""Writes the Keras HDF5 fixtures into Fixtures/keras/ (run by hand, never in CI):

    KERAS_BACKEND=torch /work/main/.venv/bin/python tools/make_keras_fixtures.py [--full]

Miniature models, built with Keras' own builders where they exist (fixed seeds, random weights,
BatchNormalization statistics and biases perturbed so that epsilon, formula or layout mistakes
change the logits):
  resnet_mini        keras.applications.resnet.ResNet(stack_fn, preact=False, use_bias=True) with a
                     small stack_fn built from stack_residual_blocks_v1 (Keras' ResNet50 naming)
  efficientnet_mini  keras.applications.efficientnet.EfficientNet(width 0.1, depth 0.3, 32 px);
                     the in-graph Rescaling(1/255) + Normalization are checked and their statistics
                     set to the ImageNet mean and std^2
  vgg_mini           VGG16's structure written by hand with Keras' layer names and small widths

Per model, in Fixtures/keras/:
  <model>.h5            legacy writer (legacy_h5_format.save_weights_to_hdf5_group, what
                        tf.keras 2.x `save_weights("x.h5")` wrote): layer_names / weight_names
  <model>.weights.h5    Keras 3 `model.save_weights`: layers/<class_key>/vars/<i>
  <model>.tf2.h5        (resnet, efficientnet) the tf.keras 2.x naming: fixed-length byte-string
                        attributes, weight names `layer/kernel:0`, `depthwise_kernel:0`, int64
                        `count`, layer_names split into layer_names0/1 (as Keras does above 64 KB)
  efficientnet_mini.full.h5  Keras 3 `model.save("x.h5")`: model_weights + model_config
  nested.weights.h5, nested.h5  a model ("inner", Dense d1) used as a layer of another ("outer")
  unnamed.weights.h5    a small Conv2D/BN/DepthwiseConv2D/Dense model in the Keras 3 layout with every
                        `name` attribute removed (older Keras 3 files): layers known by class key only
  resnet_mini.pixels.npy  the input as 0-255 RGB pixels, NHWC float32 (batch of 2), before caffe
                        preprocessing (the other models' inputs come from the same generator)
  <model>.input.npy     what the model takes, NHWC (ResNet/VGG: caffe preprocess_input applied;
                        EfficientNet: the pixels, preprocessing is in the graph)
  <model>.input_nchw.npy  the same transposed to NCHW (what `graft verify` takes)
  <model>.logits.npy    Keras' output (classifier_activation=None), float32
  hostile/*.h5          E1-E13 inputs (see keras_hostile_fixtures.py)
  manifest.json         versions, per-model configuration, per-layer list (class, shapes, strides,
                        padding, use_bias, ...), and per canonical tensor its shape and the sha256
                        of its canonical bytes (conv OIHW, depthwise (in*mult,1,kh,kw), dense
                        (out,in), float32; integer tensors as stored, little-endian)

--full writes, instead of the miniatures, FULL-SIZE random-init ResNet50, VGG16 and EfficientNetB0
(weights=None, 224 px, BN perturbed the same way, the default classifier_activation: softmax) in both
weights layouts plus a full-model `.full.h5` (its model_config records the softmax), with inputs, the
pre-activation logits, `model.predict`'s outputs (<model>.predict.npy: the probabilities a Keras user
saves) and a manifest of canonical sha256s, into .build-keras-full/ (git-ignored, about 1.9 GB; never
commit it).
GraftKerasTests/FullSizeKerasTests checks them when the folder exists.
"""
import argparse
import hashlib
import json
import os
import pathlib
import platform
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import h5py  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
from keras import layers  # noqa: E402
from keras.src.applications import efficientnet, resnet  # noqa: E402
from keras.src.legacy.saving import legacy_h5_format  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import keras_hostile_fixtures  # noqa: E402

ROOT = pathlib.Path(__file__).resolve().parent.parent
OUT = ROOT / "Fixtures" / "keras"
FULL_OUT = ROOT / ".build-keras-full"
SEED = 20240611
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
LAYER_KEYS = [
    "filters", "kernel_size", "strides", "padding", "use_bias", "dilation_rate", "depth_multiplier", "groups",
    "activation", "units", "epsilon", "momentum", "axis", "center", "scale", "offset", "pool_size", "rate",
    "noise_shape", "target_shape", "mean", "variance",
]


# MARK: - Models

def resnet_mini():
    stacks = [dict(name="conv2", filters=8, blocks=2, stride1=1), dict(name="conv3", filters=16, blocks=1, stride1=2)]

    def stack_fn(x):
        for s in stacks:
            x = resnet.stack_residual_blocks_v1(x, s["filters"], s["blocks"], stride1=s["stride1"], name=s["name"])
        return x

    model = resnet.ResNet(stack_fn, preact=False, use_bias=True, weights=None, input_shape=(32, 32, 3), classes=10,
                          classifier_activation=None, name="resnet_mini")
    config = dict(builder="keras.applications.resnet.ResNet(stack_fn, preact=False, use_bias=True)",
                  stack_function="keras.applications.resnet.stack_residual_blocks_v1", stacks=stacks,
                  stem_filters=64, bn_epsilon=1.001e-5, input_size=32, classes=10, classifier_activation=None,
                  preprocessing="caffe (keras.applications.resnet.preprocess_input: RGB->BGR, minus BGR mean)")
    return model, config, "caffe"


def efficientnet_mini():
    model = efficientnet.EfficientNet(0.1, 0.3, 32, dropout_rate=0.2, drop_connect_rate=0.2, weights=None,
                                      input_shape=(32, 32, 3), classes=10, classifier_activation=None,
                                      name="efficientnet_mini")
    rescaling, normalization = model.layers[1], model.layers[2]
    assert isinstance(rescaling, layers.Rescaling) and abs(rescaling.scale - 1 / 255) < 1e-12, rescaling
    assert isinstance(normalization, layers.Normalization), normalization
    mean, variance, count = normalization.get_weights()
    normalization.set_weights([np.array(IMAGENET_MEAN, "f4"), np.square(np.array(IMAGENET_STD, "f4")), count])
    config = dict(
        builder="keras.applications.efficientnet.EfficientNet(width_coefficient, depth_coefficient, default_size)",
        width_coefficient=0.1, depth_coefficient=0.3, default_size=32, depth_divisor=8, dropout_rate=0.2,
        drop_connect_rate=0.2, activation="swish", blocks_args="efficientnet.DEFAULT_BLOCKS_ARGS",
        default_blocks_args=efficientnet.DEFAULT_BLOCKS_ARGS, bn_epsilon=1e-3, input_size=32, classes=10,
        classifier_activation=None,
        in_graph_preprocessing=dict(
            rescaling=f"{rescaling.name}: Rescaling(scale=1/255, offset=0)",
            normalization=f"{normalization.name}: Normalization(axis=-1), weights mean, variance, count; "
                          "(x - mean) / sqrt(variance) with variance floored at epsilon",
            fixture_statistics="mean = ImageNet mean, variance = ImageNet std^2 (so the graph matches torchvision)",
            imagenet_weights_add="weights='imagenet' inserts Rescaling(1/sqrt(std)) after Normalization "
                                 "(no weights): the ImageNet file stores std, not std^2, as the variance "
                                 "(tensorflow#49930); this fixture (weights=None) has no such layer"),
        preprocessing="none outside the graph: the model takes 0-255 RGB pixels")
    return model, config, "none"


def vgg_mini():
    blocks = [(2, 4), (2, 8), (3, 8), (3, 16), (3, 16)]  # VGG16's (convs, filters) with small widths
    inputs = keras.Input((64, 64, 3))
    x = inputs
    for b, (convs, filters) in enumerate(blocks, start=1):
        for c in range(1, convs + 1):
            x = layers.Conv2D(filters, (3, 3), activation="relu", padding="same", name=f"block{b}_conv{c}")(x)
        x = layers.MaxPooling2D((2, 2), strides=(2, 2), name=f"block{b}_pool")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(32, activation="relu", name="fc1")(x)
    x = layers.Dense(32, activation="relu", name="fc2")(x)
    x = layers.Dense(10, activation=None, name="predictions")(x)
    model = keras.Model(inputs, x, name="vgg_mini")
    config = dict(builder="by hand, keras/src/applications/vgg16.py structure and layer names",
                  blocks=[dict(convs=c, filters=f) for c, f in blocks], fc_units=[32, 32], input_size=64, classes=10,
                  classifier_activation=None, flatten_order="NHWC: Flatten sees (2, 2, 16), so fc1's input index is "
                  "(h*2 + w)*16 + c, not torchvision's c*4 + h*2 + w",
                  preprocessing="caffe (keras.applications.vgg16.preprocess_input)")
    return model, config, "caffe"


def perturb(model, rng, calibration):
    """Random biases and BatchNormalization parameters: Keras initializes them to 1/0, which would
    hide mistakes. Each BN's moving statistics are first set near the statistics of its real input
    on a calibration batch (layer by layer), so activations stay O(1) through the network and the
    logits depend on the input; then mean, variance, gamma and beta are perturbed."""
    for layer in model.layers:
        if isinstance(layer, (layers.Conv2D, layers.DepthwiseConv2D, layers.Dense)) and layer.use_bias:
            weights = layer.get_weights()
            weights[1] = rng.normal(0, 0.05, weights[1].shape).astype("f4")
            layer.set_weights(weights)
    for layer in model.layers:
        if not isinstance(layer, layers.BatchNormalization):
            continue
        probe = keras.Model(model.input, layer.input)
        features = keras.ops.convert_to_numpy(probe(calibration, training=False))
        mean = features.mean(axis=(0, 1, 2))
        var = features.var(axis=(0, 1, 2))
        n = mean.shape[0]
        layer.set_weights([rng.uniform(0.5, 1.5, n).astype("f4"),
                           rng.normal(0, 0.2, n).astype("f4"),
                           (mean + rng.normal(0, 0.1, n) * np.sqrt(var)).astype("f4"),
                           (var * rng.uniform(0.5, 2.0, n)).astype("f4")])


# MARK: - Canonical tensors

def canonical_weights(model):
    """[(layer, class, [(canonical name, stored array, canonical array)])] for layers with weights."""
    out = []
    for layer in model.layers:
        weights = legacy_h5_format._legacy_weights(layer)
        if not weights:
            continue
        cls = layer.__class__.__name__
        entries = []
        for w in weights:
            name = w.path.split("/")[-1]
            value = keras.ops.convert_to_numpy(w)
            if cls == "DepthwiseConv2D" and name == "kernel":
                name = "depthwise_kernel"
                kh, kw, cin, mult = value.shape
                canonical = value.transpose(2, 3, 0, 1).reshape(cin * mult, 1, kh, kw)
            elif cls == "Conv2D" and name == "kernel":
                canonical = value.transpose(3, 2, 0, 1)
            elif cls == "Dense" and name == "kernel":
                canonical = value.T
            else:
                canonical = value
            entries.append((name, value, np.array(canonical, order="C")))  # keeps 0-d arrays 0-d
        out.append((layer, cls, entries))
    return out


def tensor_digest(array):
    if array.dtype.kind == "f":
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    else:
        data = np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes()
    return hashlib.sha256(data).hexdigest()


def layer_record(layer, cls, entries):
    config = layer.get_config()
    record = dict(name=layer.name, **{"class": cls})
    for key in LAYER_KEYS:
        if key in config and config[key] is not None:
            value = config[key]
            record[key] = list(value) if isinstance(value, tuple) else value
    if entries:
        record["weights"] = [dict(name=n, stored_shape=list(v.shape), canonical_shape=list(c.shape))
                             for n, v, c in entries]
    inbound = sorted(set(inbound_layers(layer)))
    if inbound:
        record["inbound"] = inbound
    return record


def inbound_layers(layer):
    names = []
    for node in layer._inbound_nodes:
        for tensor in node.input_tensors:
            history = getattr(tensor, "_keras_history", None)
            if history is not None:
                names.append(history.operation.name)
    return names


# MARK: - Writers

def write_tf2_h5(path, model, chunk_layer_names):
    """The tf.keras 2.x writer (keras/saving/legacy/hdf5_format.py@v2.12.0) as h5py 2.x stored it:
    fixed-length byte strings, TF variable names `layer/name:0`, DepthwiseConv2D's
    `depthwise_kernel`, Normalization's count as int64."""
    def fixed(names):
        return np.array([n.encode("utf8") for n in names], dtype=f"S{max([1] + [len(n.encode()) for n in names])}")

    with h5py.File(path, "w") as f:
        names = [layer.name for layer in model.layers]
        if chunk_layer_names:
            half = len(names) // 2
            f.attrs["layer_names0"], f.attrs["layer_names1"] = fixed(names[:half]), fixed(names[half:])
        else:
            f.attrs["layer_names"] = fixed(names)
        f.attrs["backend"] = np.array(b"tensorflow")
        f.attrs["keras_version"] = np.array(b"2.12.0")
        for layer in sorted(model.layers, key=lambda x: x.name):
            g = f.create_group(layer.name)
            weights = legacy_h5_format._legacy_weights(layer)
            tf_names, values = [], []
            for w in weights:
                short = w.path.split("/")[-1]
                value = keras.ops.convert_to_numpy(w)
                if layer.__class__.__name__ == "DepthwiseConv2D" and short == "kernel":
                    short = "depthwise_kernel"
                if short == "count":
                    value = value.astype(np.int64)
                tf_names.append(f"{layer.name}/{short}:0")
                values.append(value)
            g.attrs["weight_names"] = fixed(tf_names) if tf_names else np.array([], dtype="f8")
            for n, v in zip(tf_names, values):
                g.create_dataset(n, data=v)
        top = f.create_group("top_level_model_weights")
        top.attrs["weight_names"] = np.array([], dtype="f8")


def save_model_files(model, directory, stem, tf2=False, full_model=False):
    files = {}
    model.save_weights(directory / f"{stem}.weights.h5")
    files["keras_v3"] = f"{stem}.weights.h5"
    with h5py.File(directory / f"{stem}.h5", "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, model)
    files["legacy_h5"] = f"{stem}.h5"
    if tf2:
        write_tf2_h5(directory / f"{stem}.tf2.h5", model, chunk_layer_names=True)
        files["tf2_h5"] = f"{stem}.tf2.h5"
    if full_model:
        model.save(directory / f"{stem}.full.h5")
        files["full_model_h5"] = f"{stem}.full.h5"
    return files


def make_inputs(rng, size, preprocessing, batch=2):
    pixels = rng.integers(0, 256, size=(batch, size, size, 3)).astype("f4")
    if preprocessing == "caffe":
        model_input = resnet.preprocess_input(pixels.copy())
    else:
        model_input = pixels.copy()
    return pixels, np.ascontiguousarray(model_input, dtype="f4")


def build_record(model, config, preprocessing, directory, stem, rng, tf2=False, full_model=False, keep_pixels=False,
                 classifier_softmax=False):
    size = config["input_size"]
    _, calibration = make_inputs(rng, size, preprocessing, batch=8)
    perturb(model, rng, calibration)
    pixels, model_input = make_inputs(rng, size, preprocessing)
    predictions = model.get_layer("predictions") if classifier_softmax else None
    if predictions is not None:
        # What a Keras user saves: model.predict's outputs, through the classifier's softmax.
        predicted = np.asarray(model.predict(model_input, verbose=0), dtype="f4")
        np.save(directory / f"{stem}.predict.npy", predicted)
        # The pre-activation logits: the same graph with the Dense layer's activation set to linear.
        predictions.activation = keras.activations.linear
    logits = keras.ops.convert_to_numpy(model(model_input, training=False)).astype("f4")
    if predictions is not None:
        predictions.activation = keras.activations.softmax
    assert np.all(np.isfinite(logits)), stem
    if keep_pixels:
        np.save(directory / f"{stem}.pixels.npy", pixels)
    np.save(directory / f"{stem}.input.npy", model_input)
    np.save(directory / f"{stem}.input_nchw.npy", np.ascontiguousarray(model_input.transpose(0, 3, 1, 2)))
    np.save(directory / f"{stem}.logits.npy", logits)
    files = save_model_files(model, directory, stem, tf2=tf2, full_model=full_model)
    weights = canonical_weights(model)
    by_layer = {layer.name: (cls, entries) for layer, cls, entries in weights}
    tensors = {}
    for layer, cls, entries in weights:
        for name, stored, canonical in entries:
            tensors[f"{layer.name}/{name}"] = dict(
                **{"class": cls}, stored_shape=list(stored.shape), shape=list(canonical.shape),
                dtype=str(canonical.dtype), sha256=tensor_digest(canonical))
    return dict(
        config=config, files=files,
        arrays=dict(pixels_nhwc=f"{stem}.pixels.npy" if keep_pixels else None, input_nhwc=f"{stem}.input.npy",
                    input_nchw=f"{stem}.input_nchw.npy", logits=f"{stem}.logits.npy",
                    **(dict(predict=f"{stem}.predict.npy") if classifier_softmax else {})),
        layer_count_with_weights=len(weights),
        layers=[layer_record(layer, layer.__class__.__name__, by_layer.get(layer.name, (None, []))[1])
                for layer in model.layers],
        tensors=tensors)


def small_cases(directory, rng):
    """Two small structures the miniatures do not have: a model nested in a model, and a Keras 3
    file without the `name` attributes (as Keras 3 wrote before it recorded layer names)."""
    inner_input = keras.Input((4,))
    inner = keras.Model(inner_input, layers.Dense(3, name="d1")(inner_input), name="inner")
    outer_input = keras.Input((4,))
    nested = keras.Model(outer_input, layers.Dense(2, name="d2")(inner(outer_input)), name="outer")
    nested.save_weights(directory / "nested.weights.h5")
    with h5py.File(directory / "nested.h5", "w") as f:
        legacy_h5_format.save_weights_to_hdf5_group(f, nested)

    x_in = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, name="c1")(x_in)
    x = layers.BatchNormalization(name="bn1")(x)
    x = layers.DepthwiseConv2D(3, name="dw")(x)
    x = layers.Conv2D(4, 1, use_bias=False, name="c2")(x)
    x = layers.GlobalAveragePooling2D(name="pool")(x)
    small = keras.Model(x_in, layers.Dense(5, name="fc")(x), name="small")
    perturb(small, rng, rng.uniform(0, 1, (4, 8, 8, 3)).astype("f4"))
    small.save_weights(directory / "unnamed.weights.h5")
    with h5py.File(directory / "unnamed.weights.h5", "a") as f:
        f.visititems(lambda name, obj: obj.attrs.__delitem__("name") if "name" in obj.attrs else None)
        if "name" in f["vars"].attrs:
            del f["vars"].attrs["name"]

    def record(model, prefix=""):
        out = {}
        for layer in model.layers:
            if isinstance(layer, keras.Model):  # a nested model's layers are `outer/inner`
                out.update(record(layer, prefix=f"{prefix}{layer.name}/"))
        for layer, _, entries in canonical_weights(model):
            if not isinstance(layer, keras.Model):
                out.update({f"{prefix}{layer.name}/{name}": dict(shape=list(c.shape), sha256=tensor_digest(c))
                            for name, _, c in entries})
        return out

    return {
        "nested": dict(files=["nested.weights.h5", "nested.h5"], tensors=record(nested)),
        "unnamed": dict(files=["unnamed.weights.h5"], tensors=record(small),
                        file_keys=dict(c1="conv2d", c2="conv2d_1", bn1="batch_normalization",
                                       dw="depthwise_conv2d", fc="dense")),
    }


def versions():
    return dict(keras=keras.__version__, backend=keras.backend.backend(), torch=torch.__version__,
                numpy=np.__version__, h5py=h5py.version.version, hdf5=h5py.version.hdf5_version,
                python=platform.python_version())


def write_minis():
    OUT.mkdir(parents=True, exist_ok=True)
    manifest = dict(generator="tools/make_keras_fixtures.py", seed=SEED, versions=versions(), models={})
    for stem, builder, tf2, full_model in [("resnet_mini", resnet_mini, True, False),
                                           ("efficientnet_mini", efficientnet_mini, True, True),
                                           ("vgg_mini", vgg_mini, False, False)]:
        keras.utils.set_random_seed(SEED)
        rng = np.random.default_rng(SEED)
        model, config, preprocessing = builder()
        manifest["models"][stem] = build_record(model, config, preprocessing, OUT, stem, rng, tf2, full_model,
                                                keep_pixels=stem == "resnet_mini")
    keras.utils.set_random_seed(SEED)
    manifest["structures"] = small_cases(OUT, np.random.default_rng(SEED))
    manifest["hostile"] = keras_hostile_fixtures.write_all(OUT / "hostile", OUT / "resnet_mini.h5")
    (OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {OUT} ({total / 2**20:.2f} MiB)")


def write_full():
    FULL_OUT.mkdir(parents=True, exist_ok=True)
    manifest = dict(generator="tools/make_keras_fixtures.py --full", seed=SEED, versions=versions(), models={})
    builders = [("resnet50", lambda: keras.applications.ResNet50(weights=None), "caffe"),
                ("vgg16", lambda: keras.applications.VGG16(weights=None), "caffe"),
                ("efficientnetb0", lambda: keras.applications.EfficientNetB0(weights=None), "none")]
    for stem, make, preprocessing in builders:
        keras.utils.set_random_seed(SEED)
        rng = np.random.default_rng(SEED)
        model = make()
        config = dict(builder=f"keras.applications ({model.name}, weights=None, classifier_activation='softmax')",
                      input_size=224, classes=1000)
        record = build_record(model, config, preprocessing, FULL_OUT, stem, rng, keep_pixels=True, full_model=True,
                              classifier_softmax=True)
        record.pop("layers")
        manifest["models"][stem] = record
        print(f"wrote {stem}")
    (FULL_OUT / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="write full-size models to .build-keras-full/ instead")
    args = parser.parse_args()
    if args.full:
        write_full()
    else:
        write_minis()


if __name__ == "__main__":
    main()

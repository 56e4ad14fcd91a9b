#!/usr/bin/env python3
"""Writes the small pickle / torch fixtures of bestiary-weights' tests, WITHOUT torch.

Stand-in modules named `torch`, `torch._utils`, `torch.storage`, `torch_utils.persistence`, `dnnlib.util` are
put into sys.modules. Their objects reduce to the same global names with the same argument structure as the
real ones (torch 1.x `Tensor.__reduce_ex__`, `Parameter.__reduce_ex__`, storage `__reduce__` through a legacy
`torch.save` stream, the official StyleGAN2-ADA `persistent_class.__reduce__`, `collections.OrderedDict`), so
the opcode streams match what torch and the official code write. numpy fixtures use real numpy.

Run from anywhere (numpy is needed only for the numpy fixtures; without it they are skipped):
    python3 crates/weights/tests/make_fixtures.py
Outputs go to crates/weights/tests/fixtures/ together with expected.json (names, shapes, dtypes, values).
"""
import collections
import io
import json
import os
import pickle
import struct
import sys
import types
import zipfile

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
EXPECTED = {}


def module(name):
    m = types.ModuleType(name)
    sys.modules[name] = m
    parent, _, child = name.rpartition(".")
    if parent:
        setattr(sys.modules[parent], child, m)
    return m


def place(mod, obj, name=None):
    name = name or obj.__name__
    obj.__module__ = mod.__name__
    obj.__qualname__ = name
    obj.__name__ = name
    setattr(mod, name, obj)
    return obj


torch = module("torch")
torch_utils_ = module("torch._utils")
torch_storage = module("torch.storage")
torch_nn = module("torch.nn")
torch_nn_modules = module("torch.nn.modules")
torch_nn_linear = module("torch.nn.modules.linear")
tu = module("torch_utils")
tu_persistence = module("torch_utils.persistence")
dnnlib = module("dnnlib")
dnnlib_util = module("dnnlib.util")


# --- torch stand-ins -------------------------------------------------------------------------------------

# storage class name -> (struct format, element size)
STORAGE_TYPES = {
    "FloatStorage": ("f", 4),
    "DoubleStorage": ("d", 8),
    "HalfStorage": ("e", 2),
    "BFloat16Storage": (None, 2),
    "LongStorage": ("q", 8),
    "IntStorage": ("i", 4),
    "ShortStorage": ("h", 2),
    "CharStorage": ("b", 1),
    "ByteStorage": ("B", 1),
    "BoolStorage": ("?", 1),
}
for _n in STORAGE_TYPES:
    place(torch, type(_n, (), {}), _n)


def bf16_bits(x):
    """Round-to-nearest-even bf16 of a float32 value, as bits."""
    b = struct.unpack("<I", struct.pack("<f", x))[0]
    return ((b + 0x7FFF + ((b >> 16) & 1)) >> 16) & 0xFFFF


def as_stored(kind, x):
    """The float32 value a stored element converts to."""
    fmt, _ = STORAGE_TYPES[kind]
    if kind == "BFloat16Storage":
        return struct.unpack("<f", struct.pack("<I", bf16_bits(x) << 16))[0]
    if kind == "BoolStorage":
        return 1.0 if x else 0.0
    v = struct.unpack("<" + fmt, struct.pack("<" + fmt, x))[0]
    return struct.unpack("<f", struct.pack("<f", float(v)))[0]


class Storage:
    """A torch storage: element type, raw little-endian data."""

    def __init__(self, kind, values):
        self.kind = kind
        self.values = list(values)
        fmt, _ = STORAGE_TYPES[kind]
        if kind == "BFloat16Storage":
            self.data = b"".join(struct.pack("<H", bf16_bits(v)) for v in self.values)
        else:
            self.data = b"".join(struct.pack("<" + fmt, v) for v in self.values)

    @property
    def numel(self):
        return len(self.values)

    def type_obj(self):
        return getattr(torch, self.kind)

    # pickle.dump of a storage (what a plain pickle of a tensor contains): torch 1.x _StorageBase.__reduce__
    def __reduce__(self):
        return (torch.storage._load_from_bytes, (legacy_save(self),))


def _load_from_bytes(b):
    raise RuntimeError("never called")


def _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, metadata=None):
    raise RuntimeError("never called")


def _rebuild_parameter(data, requires_grad, backward_hooks):
    raise RuntimeError("never called")


place(torch_storage, _load_from_bytes)
place(torch_utils_, _rebuild_tensor_v2)
place(torch_utils_, _rebuild_parameter)


class Tensor:
    def __init__(self, storage, size, stride=None, offset=0):
        self.storage, self.size, self.offset = storage, tuple(size), offset
        if stride is None:
            stride, acc = [], 1
            for d in reversed(self.size):
                stride.insert(0, acc)
                acc *= d
        self.stride = tuple(stride)

    def __reduce_ex__(self, proto):
        # torch 1.7 Tensor._reduce_ex_internal for dense CPU tensors
        return (torch._utils._rebuild_tensor_v2,
                (self.storage, self.offset, tuple(self.size), self.stride, False, collections.OrderedDict()))

    def values(self):
        """Row-major element values (as float32), following strides."""
        out = []

        def rec(dim, pos):
            if dim == len(self.size):
                out.append(as_stored(self.storage.kind, self.storage.values[pos]))
                return
            for i in range(self.size[dim]):
                rec(dim + 1, pos + i * self.stride[dim])

        rec(0, self.offset)
        return out


class Parameter(Tensor):
    def __init__(self, t):
        self.t = t

    def __reduce_ex__(self, proto):
        return (torch._utils._rebuild_parameter, (self.t, False, collections.OrderedDict()))

    def values(self):
        return self.t.values()

    @property
    def size(self):
        return self.t.size

    @property
    def storage(self):
        return self.t.storage


def dtype_name(kind):
    return {"FloatStorage": "f32", "DoubleStorage": "f64", "HalfStorage": "f16", "BFloat16Storage": "bf16",
            "LongStorage": "i64", "IntStorage": "i32", "ShortStorage": "i16", "CharStorage": "i8",
            "ByteStorage": "u8", "BoolStorage": "bool"}[kind]


def describe(t):
    return {"shape": list(t.size), "dtype": dtype_name(t.storage.kind), "values": t.values()}


counter = [0]


def ramp(n, scale=0.125, start=None):
    """Deterministic small values, exactly representable in f16 and bf16."""
    if start is None:
        counter[0] += 1
        start = counter[0]
    return [((start * 7 + i * 3) % 17 - 8) * scale for i in range(n)]


def tensor(shape, kind="FloatStorage"):
    n = 1
    for d in shape:
        n *= d
    return Tensor(Storage(kind, ramp(n)), shape)


def param(shape, kind="FloatStorage"):
    return Parameter(tensor(shape, kind))


# --- legacy torch.save -----------------------------------------------------------------------------------

MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


class LegacyPickler(pickle.Pickler):
    def __init__(self, f, views=None):
        super().__init__(f, protocol=2)
        self.storages = {}
        self.keys = {}
        self.views = views or {}

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            key = self.keys.setdefault(id(obj), str(len(self.keys)))
            if id(obj) in self.views:
                # old storage views: (root key, element offset, element count) into a root storage
                root, off, n = self.views[id(obj)]
                rkey = self.keys.setdefault(id(root), str(len(self.keys)))
                self.storages[rkey] = root
                return ("storage", obj.type_obj(), key, "cpu", n, (rkey, off, n))
            self.storages[key] = obj
            return ("storage", obj.type_obj(), key, "cpu", obj.numel, None)
        return None


def legacy_save(obj, views=None):
    """torch.save(obj, f, _use_new_zipfile_serialization=False)."""
    f = io.BytesIO()
    pickle.dump(MAGIC_NUMBER, f, protocol=2)
    pickle.dump(PROTOCOL_VERSION, f, protocol=2)
    pickle.dump(dict(protocol_version=PROTOCOL_VERSION, little_endian=True,
                     type_sizes=dict(short=2, int=4, long=4)), f, protocol=2)
    p = LegacyPickler(f, views)
    p.dump(obj)
    keys = sorted(p.storages.keys())
    pickle.dump(keys, f, protocol=2)
    for k in keys:
        st = p.storages[k]
        f.write(struct.pack("<q", st.numel))
        f.write(st.data)
    return f.getvalue()


# --- torch zip -------------------------------------------------------------------------------------------

class ZipPickler(pickle.Pickler):
    def __init__(self, f):
        super().__init__(f, protocol=2)
        self.storages = {}
        self.keys = {}

    def persistent_id(self, obj):
        if isinstance(obj, Storage):
            key = self.keys.setdefault(id(obj), str(len(self.keys)))
            self.storages[key] = obj
            return ("storage", obj.type_obj(), key, "cpu", obj.numel)
        return None


def zip_save(path, archive, records):
    """records: list of (pickle name, object, tensor dir)."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED) as z:
        for name, obj, tdir in records:
            f = io.BytesIO()
            p = ZipPickler(f)
            p.dump(obj)
            z.writestr(f"{archive}/{name}.pkl", f.getvalue())
            for k, st in p.storages.items():
                z.writestr(f"{archive}/{tdir}/{k}", st.data)
        z.writestr(f"{archive}/byteorder", "little")
        z.writestr(f"{archive}/version", "3\n")


# --- StyleGAN2-ADA stand-ins -----------------------------------------------------------------------------

class EasyDict(dict):
    """dnnlib.util.EasyDict: a dict subclass (pickled through copyreg __newobj__ + SETITEMS)."""


place(dnnlib_util, EasyDict)


def _reconstruct_persistent_obj(meta):
    raise RuntimeError("never called")


place(tu_persistence, _reconstruct_persistent_obj)

# module_src is python source the official loader would exec; our reader must ignore it.
MODULE_SRC = "import os\nos.system('echo this must never run')\n"


def module_dict(params=(), buffers=(), modules=(), non_persistent=(), init_kwargs=None, extra=None):
    """The __dict__ of a torch 1.7 nn.Module (plus the persistent_class attributes)."""
    d = {
        "training": False,
        "_parameters": collections.OrderedDict(params),
        "_buffers": collections.OrderedDict(buffers),
        "_non_persistent_buffers_set": set(non_persistent),
        "_backward_hooks": collections.OrderedDict(),
        "_forward_hooks": collections.OrderedDict(),
        "_forward_pre_hooks": collections.OrderedDict(),
        "_state_dict_hooks": collections.OrderedDict(),
        "_load_state_dict_pre_hooks": collections.OrderedDict(),
        "_modules": collections.OrderedDict(modules),
    }
    if init_kwargs is not None:
        d["_init_args"] = ()
        d["_init_kwargs"] = init_kwargs
    d.update(extra or {})
    return d


class Persistent:
    """An instance of a @persistence.persistent_class: reduces to _reconstruct_persistent_obj(meta)."""

    def __init__(self, class_name, state):
        self.class_name, self.state = class_name, state

    def __reduce__(self):
        meta = dict(type="class", version=4, module_src=MODULE_SRC, class_name=self.class_name, state=self.state)
        return (tu_persistence._reconstruct_persistent_obj, (meta,), None)


class Linear:
    """A plain torch.nn.Linear: default object reduction (copyreg __newobj__ + BUILD with __dict__)."""

    def __init__(self, state):
        self.__dict__.update(state)


place(torch_nn_linear, Linear)


def fc(i, o, bias=True):
    params = [("weight", param([o, i])), ("bias", param([o]) if bias else None)]
    return Persistent("FullyConnectedLayer", module_dict(params, init_kwargs=dict(in_features=i, out_features=o,
                                                                                  bias=bias, activation="lrelu",
                                                                                  lr_multiplier=0.01,
                                                                                  bias_init=0)))


def collect(prefix, obj, out):
    """state_dict() of our stand-ins, like torch: params, persistent buffers, children."""
    st = obj.state if isinstance(obj, Persistent) else obj.__dict__
    for k, v in st["_parameters"].items():
        if v is not None:
            out[prefix + k] = describe(v)
    for k, v in st["_buffers"].items():
        if v is not None and k not in st["_non_persistent_buffers_set"]:
            out[prefix + k] = describe(v)
    for k, v in st["_modules"].items():
        if v is not None:
            collect(prefix + k + ".", v, out)
    return out


def make_generator():
    counter[0] = 0
    filt = tensor([4, 4])
    mapping = Persistent("MappingNetwork", module_dict(
        modules=[("fc0", fc(4, 4)), ("fc1", fc(4, 4))],
        buffers=[("w_avg", tensor([4]))],
        init_kwargs=dict(z_dim=4, c_dim=0, w_dim=4, num_ws=4, num_layers=2, w_avg_beta=0.995),
        extra=dict(z_dim=4, c_dim=0, w_dim=4, num_ws=4, num_layers=2, w_avg_beta=0.995)))
    # conv weight stored transposed: a non-contiguous view (shape [2,2,3,3] over a permuted storage)
    conv_storage = Storage("FloatStorage", ramp(36))
    conv_w = Parameter(Tensor(conv_storage, [2, 2, 3, 3], stride=[1, 2, 12, 4]))
    # two biases sharing one storage at different offsets (memo GET of the storage)
    shared = Storage("FloatStorage", ramp(6))
    layer = lambda name, weight, bias: Persistent("SynthesisLayer", module_dict(
        params=[("weight", weight), ("noise_strength", param([])), ("bias", bias)],
        buffers=[("resample_filter", filt), ("noise_const", tensor([4, 4]))],
        modules=[("affine", fc(4, 2))],
        init_kwargs=dict(in_channels=2, out_channels=2, w_dim=4, resolution=4, kernel_size=3, up=1,
                         use_noise=True, activation="lrelu", resample_filter=[1, 3, 3, 1], conv_clamp=None,
                         channels_last=False)))
    b4 = Persistent("SynthesisBlock", module_dict(
        params=[("const", param([2, 4, 4]))],
        buffers=[("resample_filter", filt), ("scratch", tensor([3]))],
        non_persistent=["scratch"],
        modules=[("conv1", layer("conv1", conv_w, Parameter(Tensor(shared, [2], offset=1)))),
                 ("torgb", Persistent("ToRGBLayer", module_dict(
                     params=[("weight", param([3, 2, 1, 1])), ("bias", Parameter(Tensor(shared, [3], offset=3)))],
                     modules=[("affine", fc(4, 2))],
                     init_kwargs=dict(in_channels=2, out_channels=3, w_dim=4, kernel_size=1, conv_clamp=None,
                                      channels_last=False))))],
        init_kwargs=dict(in_channels=0, out_channels=2, w_dim=4, resolution=4, img_channels=3, is_last=True,
                         architecture="skip", resample_filter=[1, 3, 3, 1], conv_clamp=None, use_fp16=False,
                         fp16_channels_last=False, layer_kwargs=EasyDict())))
    synthesis = Persistent("SynthesisNetwork", module_dict(
        modules=[("b4", b4)],
        init_kwargs=dict(w_dim=4, img_resolution=4, img_channels=3, channel_base=32, channel_max=2,
                         num_fp16_res=0, conv_clamp=None)))
    kwargs = dict(z_dim=4, c_dim=0, w_dim=4, img_resolution=4, img_channels=3,
                  mapping_kwargs=EasyDict(num_layers=2),
                  synthesis_kwargs=EasyDict(channel_base=32, channel_max=2, num_fp16_res=0, conv_clamp=None,
                                            nested=EasyDict(a=[1, 2.5, None, True], t=(1, "x")),
                                            ratio=0.5))
    return Persistent("Generator", module_dict(modules=[("synthesis", synthesis), ("mapping", mapping)],
                                               init_kwargs=kwargs,
                                               extra=dict(z_dim=4, c_dim=0, w_dim=4, img_resolution=4,
                                                          img_channels=3, num_ws=4)))


def make_discriminator():
    counter[0] = 50
    lin = Linear(module_dict(params=[("weight", param([1, 4])), ("bias", param([1]))],
                             extra=dict(in_features=4, out_features=1)))
    return Persistent("Discriminator", module_dict(
        modules=[("b4", Persistent("DiscriminatorEpilogue", module_dict(
            modules=[("fc", fc(4, 4)), ("out", lin)],
            init_kwargs=dict(in_channels=4, cmap_dim=0, resolution=4))))],
        init_kwargs=dict(c_dim=0, img_resolution=4, img_channels=3, architecture="resnet",
                         block_kwargs=EasyDict(), mapping_kwargs=EasyDict(), epilogue_kwargs=EasyDict(mbstd_group_size=4))))


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def stylegan_fixtures():
    G = make_generator()
    D = make_discriminator()
    G_ema = make_generator()
    training_set_kwargs = dict(class_name="training.dataset.ImageFolderDataset", path="~/datasets/emoji.zip",
                               use_labels=False, max_size=3391, xflip=True, resolution=4)
    augment = Persistent("AugmentPipe", module_dict(params=[], buffers=[("p", tensor([]))], init_kwargs=dict(xflip=1)))
    snapshot = dict(training_set_kwargs=dict(training_set_kwargs), G=G, D=D, G_ema=G_ema, augment_pipe=augment)
    for proto in (2, 3, 4, 5):
        write(f"stylegan_p{proto}.pkl", pickle.dumps(snapshot, protocol=proto))
    # protocol 0 too (text opcodes, bytes as _codecs.encode(latin-1 text)), without D to keep it small
    write("stylegan_p0.pkl", pickle.dumps(dict(G_ema=G_ema, D=None), protocol=0))
    EXPECTED["stylegan"] = {
        "G_ema": collect("", G_ema, {}),
        "D": collect("", D, {}),
        "G_ema_init_kwargs": json.loads(json.dumps(G_ema.state["_init_kwargs"])),
        "training_set_kwargs": training_set_kwargs,
    }

    # hostile: a network slot holding os.system(...) and a tensor slot holding an unknown call
    class Evil:
        def __reduce__(self):
            return (os.system, ("echo pwned",))

    write("evil_network_p4.pkl", pickle.dumps(dict(G_ema=Evil()), protocol=4))
    bad = make_generator()
    bad.state["_modules"]["mapping"].state["_modules"]["fc0"].state["_parameters"]["weight"] = Evil()
    write("evil_tensor_p4.pkl", pickle.dumps(dict(G_ema=bad), protocol=4))


def legacy_fixtures():
    counter[0] = 100
    sd = collections.OrderedDict()
    expected = {}
    for kind in STORAGE_TYPES:
        if kind == "BoolStorage":
            t = Tensor(Storage(kind, [True, False, True, True, False, False]), [2, 3])
        elif kind == "ByteStorage":
            t = Tensor(Storage(kind, [0, 1, 2, 128, 255, 7]), [2, 3])
        elif kind in ("LongStorage", "IntStorage", "ShortStorage", "CharStorage"):
            t = Tensor(Storage(kind, [-3, 0, 5, 100, -100, 1]), [2, 3])
        else:
            t = tensor([2, 3], kind)
        sd["t_" + dtype_name(kind)] = t
    st = Storage("FloatStorage", ramp(24))
    sd["strided"] = Tensor(st, [3, 2, 2], stride=[1, 12, 3], offset=2)
    sd["same_storage"] = Tensor(st, [4], offset=20)
    sd["scalar"] = Tensor(Storage("DoubleStorage", [0.1]), [])
    sd["empty"] = Tensor(Storage("FloatStorage", []), [0, 3])
    sd["param"] = Parameter(tensor([2, 2], "HalfStorage"))
    # an old-style storage view: 4 elements at offset 2 of a root storage
    root = Storage("FloatStorage", ramp(10))
    view = Storage("FloatStorage", root.values[2:6])
    sd["view"] = Tensor(view, [2, 2])
    for k, v in sd.items():
        expected[k] = describe(v)
    write("legacy_p2.pt", legacy_save(sd, views={id(view): (root, 2, 4)}))
    # a checkpoint dict: only 'state_dict' is read
    ck = legacy_save(dict(epoch=3, state_dict=collections.OrderedDict(a=sd["t_f32"]), optimizer=dict(lr=0.1)))
    write("legacy_checkpoint.pt", ck)
    EXPECTED["legacy"] = expected


def zip_fixtures():
    counter[0] = 200
    sd = collections.OrderedDict()
    sd["conv.weight"] = tensor([2, 1, 2, 2])
    sd["conv.bias"] = tensor([2], "HalfStorage")
    st = Storage("FloatStorage", ramp(6))
    sd["fc.weight_t"] = Tensor(st, [3, 2], stride=[1, 3])
    sd["fc.weight"] = Tensor(st, [2, 3])
    sd["bn.num_batches_tracked"] = Tensor(Storage("LongStorage", [7]), [])
    zip_save(os.path.join(OUT, "zip_state_dict.pt"), "archive", [("data", sd, "data")])
    EXPECTED["zip"] = {k: describe(v) for k, v in sd.items()}

    # A TorchScript-like archive: __torch__ objects (NEWOBJ + BUILD of an attribute dict) and constants.pkl.
    torch_mod = module("__torch__")
    tsmod = module("__torch__.inceptionv3")

    class ScriptObj:
        def __init__(self, attrs):
            self.__dict__.update(attrs)

        def __reduce_ex__(self, proto):
            return (copyreg_newobj(), (type(self),), dict(self.__dict__))

    class Conv2dLayer(ScriptObj):
        pass

    class InceptionV3(ScriptObj):
        pass

    place(tsmod, Conv2dLayer)
    place(tsmod, InceptionV3)
    w = tensor([2, 1, 1, 1])
    beta = tensor([2])
    net = InceptionV3({"training": False, "_is_full_backward_hook": None,
                       "conv": Conv2dLayer({"training": False, "weight": w, "beta": beta})})
    const = (tensor([3]),)
    zip_save(os.path.join(OUT, "torchscript_like.pt"), "out_jit_module",
             [("data", net, "data"), ("constants", const, "constants")])
    EXPECTED["torchscript"] = {"conv.weight": describe(w), "conv.beta": describe(beta),
                               "constants.0": describe(const[0])}
    del torch_mod


def copyreg_newobj():
    import copyreg
    return copyreg.__newobj__


def numpy_fixtures():
    try:
        import numpy as np
    except ImportError:
        print("numpy missing: numpy fixtures not regenerated")
        return
    arrays = {
        "f4": np.arange(12, dtype=np.float32).reshape(3, 4) * 0.5 - 2,
        "f8_fortran": np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3) / 8),
        "f2": np.array([1.5, -2.25, 0.125], dtype=np.float16),
        "i8": np.array([[-5, 7]], dtype=np.int64),
        "u1": np.array([0, 200, 255], dtype=np.uint8),
        "b1": np.array([True, False, True]),
        "be_f4": np.array([1.25, -3.5], dtype=">f4"),
        "scalar": np.float32(2.75),
        "empty": np.zeros((0, 2), dtype=np.float32),
    }
    tree = {"VGG16_0": {"Conv_0": {"kernel": arrays["f4"], "bias": arrays["f2"]}}, "misc": dict(arrays)}
    exp = {}

    def flat(prefix, d):
        for k, v in d.items():
            name = f"{prefix}.{k}" if prefix else k
            if isinstance(v, dict):
                flat(name, v)
            else:
                a = np.asarray(v)
                dt = {"float32": "f32", "float64": "f64", "float16": "f16", "int64": "i64", "uint8": "u8",
                      "bool": "bool"}[a.dtype.name]
                exp[name] = {"shape": list(a.shape), "dtype": dt,
                             "values": [float(np.float32(x)) for x in a.astype(np.float64).ravel(order="C")]}

    flat("", tree)
    for proto in (2, 3, 4, 5):
        write(f"numpy_p{proto}.pkl", pickle.dumps(tree, protocol=proto))
    EXPECTED["numpy"] = exp
    EXPECTED["numpy_version"] = np.__version__


def main():
    os.makedirs(OUT, exist_ok=True)
    stylegan_fixtures()
    legacy_fixtures()
    zip_fixtures()
    numpy_fixtures()
    with open(os.path.join(OUT, "expected.json"), "w") as f:
        json.dump(EXPECTED, f, indent=0, sort_keys=True)
    total = sum(os.path.getsize(os.path.join(OUT, n)) for n in os.listdir(OUT))
    print(f"fixtures written to {OUT} ({total} bytes)")


if __name__ == "__main__":
    main()

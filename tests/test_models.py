"""The model zoo: sizes match the papers, shapes match CIFAR, structure matches the claims."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from lab.models import (FACTORIES, PAPER_PARAMS, PARAM_TABLE, BasicBlock, CifarResNet,
                            ProjectionShortcut, ZeroPadShortcut, build, count_parameters,
                            lesion)

# Families the explainer trains; one training step each.
FAMILIES = ["resnet20", "resnet20_b", "plain20", "preact_resnet20", "highway20", "densenet40"]


def test_registry_matches_param_table():
    assert set(FACTORIES) == set(PARAM_TABLE)


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_parameter_count_and_forward_shape(name):
    torch.manual_seed(0)
    model = build(name)
    assert count_parameters(model) == PARAM_TABLE[name]
    # Batch statistics: untrained running stats let resnet1202's 600 additions overflow.
    with torch.no_grad():
        out = model(torch.randn(2, 3, 32, 32))
    assert out.shape == (2, 10)
    assert torch.isfinite(out).all()


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_parameter_count_matches_paper(name):
    # He et al. Table 6 within 2%; DenseNet's Table 2 rounds to 0.1M (0.77M prints as 0.8M).
    tolerance = 0.02 if name.startswith("resnet") else 0.05
    assert PARAM_TABLE[name] == pytest.approx(PAPER_PARAMS[name], rel=tolerance)


def test_unknown_name_lists_known_ones():
    with pytest.raises(ValueError, match="known: .*resnet56"):
        build("resnet57")


@pytest.mark.parametrize("name", FAMILIES)
def test_one_training_step_changes_parameters(name):
    torch.manual_seed(0)
    model = build(name)
    model.train()
    before = [p.detach().clone() for p in model.parameters()]
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.randn(4, 3, 32, 32), torch.arange(4)
    loss = F.cross_entropy(model(x), y)
    assert torch.isfinite(loss)
    loss.backward()
    opt.step()
    changed = [not torch.equal(b, p) for b, p in zip(before, model.parameters())]
    assert all(changed), f"{changed.count(False)} parameter tensors did not move"


def test_depths_are_6n_plus_2():
    for name, depth in [("resnet20", 20), ("resnet56", 56), ("plain110", 110), ("preact_resnet56", 56)]:
        model = build(name)
        assert model.depth == depth
        convs = [m for n, m in model.named_modules()
                 if isinstance(m, torch.nn.Conv2d) and "shortcut" not in n]
        assert len(convs) + 1 == depth  # the 3x3 convs plus the fc layer


def test_zero_pad_shortcut_has_no_parameters_and_pads_channels():
    sc = ZeroPadShortcut(16, 32, 2)
    assert count_parameters(sc) == 0
    x = torch.randn(2, 16, 8, 8)
    y = sc(x)
    assert y.shape == (2, 32, 4, 4)
    assert torch.equal(y[:, :16], x[:, :, ::2, ::2])
    assert not y[:, 16:].any()


def test_option_b_projects_only_where_the_shape_changes():
    model = build("resnet20_b")
    projections = [n for n, m in model.named_modules() if isinstance(m, ProjectionShortcut)]
    assert projections == ["layer2.0.shortcut", "layer3.0.shortcut"]


def test_plain_nets_are_resnets_without_the_addition():
    torch.manual_seed(0)
    res = build("resnet20")
    torch.manual_seed(0)
    plain = build("plain20")
    assert count_parameters(res) == count_parameters(plain)
    plain.load_state_dict(res.state_dict())  # same layers, same names
    block_res, block_plain = res.layer1[0].eval(), plain.layer1[0].eval()
    x = torch.randn(2, 16, 8, 8)
    with torch.no_grad():
        body = block_plain.bn2(block_plain.conv2(block_plain.relu(block_plain.bn1(block_plain.conv1(x)))))
        assert torch.allclose(block_plain(x), F.relu(body))
        assert torch.allclose(block_res(x), F.relu(body + x))
    with pytest.raises(ValueError):
        build("plain20", shortcut="B")


def test_blocks_are_listed_in_forward_order_with_named_bns():
    model = build("resnet56")
    names = [n for n, _ in model.blocks()]
    assert len(names) == 27 and names[0] == "layer1.0" and names[-1] == "layer3.8"
    seen = []
    hooks = [b.bn2.register_forward_hook(lambda m, i, o, n=n: seen.append((n, o.shape[1])))
             for n, b in model.blocks()]
    model.eval()(torch.randn(1, 3, 32, 32))
    for h in hooks:
        h.remove()
    assert [n for n, _ in seen] == names
    assert {c for _, c in seen} == {16, 32, 64}


@pytest.mark.parametrize("name", ["resnet20", "resnet20_b", "plain20", "preact_resnet20", "highway20"])
@pytest.mark.parametrize("index", [0, 3, 8])
def test_lesion_removes_exactly_one_block(name, index):
    torch.manual_seed(0)
    model = build(name).eval()
    cut = lesion(model, index).eval()
    assert len(model.blocks()) == 9  # the original is untouched
    kinds = [type(b) for _, b in model.blocks()]
    after = [type(m) for s in ("layer1", "layer2", "layer3") for m in getattr(cut, s)]
    assert [i for i, (a, b) in enumerate(zip(kinds, after)) if a is not b] == [index]
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        assert cut(x).shape == (2, 10)
        assert not torch.equal(cut(x), model(x))


def test_lesion_of_identity_block_equals_skipping_it():
    torch.manual_seed(0)
    model = build("resnet20").eval()
    cut = lesion(model, 1)
    x = torch.randn(2, 16, 32, 32)
    with torch.no_grad():
        assert torch.equal(cut.layer1(x), model.layer1[2](model.layer1[0](x)))
    with pytest.raises(IndexError):
        lesion(model, 9)
    with pytest.raises(TypeError, match="no shortcut"):
        lesion(build("densenet40"), 0)


def test_highway_gates_start_carry_biased_and_are_observable():
    model = build("highway20", gate_bias=-3.0)
    for _, block in model.blocks():
        assert (block.gate.bias == -3.0).all()
    assert all(g != g for _, g in model.gates())  # NaN before any forward
    model.eval()(torch.randn(2, 3, 32, 32))
    gates = model.gates()
    assert len(gates) == 9
    expected = torch.sigmoid(torch.tensor(-3.0)).item()  # gate weights start at zero
    assert all(g == pytest.approx(expected, rel=1e-5) for _, g in gates)
    assert "last_gate_mean" not in str(model.state_dict().keys())


def test_highway_default_gate_bias_is_negative():
    model = build("highway56")
    assert all((b.gate.bias < 0).all() for _, b in model.blocks())


def test_densenet_concatenates_within_blocks_only():
    model = build("densenet40")
    assert model.block1.out_planes == 16 + 12 * 12
    assert model.trans1.conv.out_channels == model.block1.out_planes  # no compression
    bc = build("densenet_bc100")
    assert bc.trans1.conv.out_channels == bc.block1.out_planes // 2  # compression 0.5
    out = bc.block1(torch.randn(1, 24, 32, 32))
    assert out.shape == (1, 24 + 16 * 12, 32, 32)


def test_kaiming_init_scale():
    torch.manual_seed(0)
    model = build("resnet110")
    conv = model.layer3[5].conv1  # 64 -> 64, 3x3: std sqrt(2 / (64 * 9))
    assert conv.weight.std().item() == pytest.approx((2 / (64 * 9)) ** 0.5, rel=0.05)
    assert isinstance(model, CifarResNet) and isinstance(model.layer1[0], BasicBlock)

"""grader.keras_checks on real (small, untrained) Keras models."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

keras = pytest.importorskip("keras")
layers = keras.layers

from grader.checks import (  # noqa: E402
    CheckFailed,  # noqa: E402
    check_compile,
    check_layers,
    compare_layers,
    compile_problems,
    describe_layers,
    format_rows,
    spec,
    summarize_compile,
    summary_text,
)

EXPECTED = [
    spec("Conv2D", (26, 26, 8), 80, "relu", filters=8, kernel_size=3, padding="valid"),
    spec("MaxPooling2D", (13, 13, 8), 0, pool_size=2),
    spec("Conv2D", (11, 11, 8), 584, "relu", filters=8, kernel_size=(3, 3), padding="valid"),
    spec("MaxPooling2D", (5, 5, 8), 0, pool_size=(2, 2)),
    spec("Flatten", (200,), 0),
    spec("Dense", (16,), 3216, "relu", units=16),
    spec("Dense", (10,), 170, "softmax", units=10),
]


def cnn(filters=8, padding="valid", pool=True, out="softmax", conv_act="relu",
        input_shape=(28, 28, 1), extra=None):
    stack = [keras.Input(shape=input_shape),
             layers.Conv2D(filters, (3, 3), activation=conv_act, padding=padding)]
    if pool:
        stack.append(layers.MaxPooling2D(2, 2))
    stack += [layers.Conv2D(8, (3, 3), activation="relu"), layers.MaxPooling2D(2, 2),
              layers.Flatten()]
    if extra is not None:
        stack.append(extra)
    stack += [layers.Dense(16, activation="relu"), layers.Dense(10, activation=out)]
    return keras.Sequential(stack)


def compiled(model=None, *args, **kwargs):
    model = model or keras.Sequential([keras.Input((4,)), layers.Dense(3, activation="softmax")])
    model.compile(*args, **kwargs)
    return model.get_compile_config()


# --------------------------------------------------------------------------- describing


def test_rows_describe_each_layer_without_the_input_layer():
    rows = describe_layers(cnn())
    assert [r.kind for r in rows] == [s.kind for s in EXPECTED]
    assert [r.output_shape for r in rows] == [s.output_shape for s in EXPECTED]
    assert [r.params for r in rows] == [s.params for s in EXPECTED]
    assert rows[0].activation == "relu" and rows[-1].activation == "softmax"
    assert rows[1].activation is None  # pooling has no activation
    assert rows[0].config == {"filters": 8, "kernel_size": (3, 3), "strides": (1, 1),
                              "padding": "valid", "use_bias": True}
    assert rows[0].describe() == "Conv2D(8, (3, 3), activation='relu')"


def test_a_rescaling_layer_shows_its_scale_as_written():
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Rescaling(1.0 / 255), layers.Rescaling(2.0, offset=-1.0),
                              layers.Rescaling(0.3), layers.Flatten(), layers.Dense(10)])
    assert [r.describe() for r in describe_layers(model)[:3]] == [
        "Rescaling(1/255)", "Rescaling(2, offset=-1)", "Rescaling(0.3)"]
    # the scale is a fact a spec may compare (the other rows keep their keys)
    assert describe_layers(model)[0].config == {"scale": 1.0 / 255, "offset": 0.0}


def test_functional_model_with_activation_layers_folds_them():
    inputs = keras.Input((28, 28, 1))
    x = layers.Conv2D(8, 3)(inputs)
    x = layers.ReLU()(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Conv2D(8, 3)(x)
    x = layers.Activation("relu")(x)
    x = layers.MaxPooling2D()(x)
    x = layers.Flatten()(x)
    x = layers.Dense(16, activation="relu")(x)
    outputs = layers.Softmax()(layers.Dense(10)(x))
    model = keras.Model(inputs, outputs)
    assert compare_layers(model, EXPECTED, input_shape=(28, 28, 1)).ok
    unfolded = describe_layers(model, fold_activations=False)
    assert [r.kind for r in unfolded].count("ReLU") == 1 and len(unfolded) == 10


def test_nested_models_are_expanded():
    block = keras.Sequential([keras.Input((28, 28, 1)), layers.Conv2D(8, 3, activation="relu"),
                              layers.MaxPooling2D(2)])
    model = keras.Sequential([keras.Input((28, 28, 1)), block, layers.Conv2D(8, 3, activation="relu"),
                              layers.MaxPooling2D(2), layers.Flatten(),
                              layers.Dense(16, activation="relu"), layers.Dense(10, activation="softmax")])
    assert compare_layers(model, EXPECTED).ok


def test_tables_and_summary_text():
    model = cnn()
    table = format_rows(describe_layers(model))
    assert "Conv2D(8, (3, 3), activation='relu')" in table
    assert "total parameters: 4,050" in table
    assert "Total params: 4,050" in summary_text(model)


# --------------------------------------------------------------------------- comparing layers


def test_the_specified_model_matches():
    report = compare_layers(cnn(), EXPECTED, input_shape=(28, 28, 1))
    assert report.ok, report.message()
    assert report.message("m") == "m matches the specification."


def test_same_padding_is_named_and_later_shapes_are_not_blamed():
    report = compare_layers(cnn(padding="same"), EXPECTED)
    text = "\n".join(report.problems)
    assert "padding='same', expected padding='valid'" in text
    assert "keeps the input's height and width" in text
    assert "layer 0 (Conv2D): output shape (28, 28, 8), expected (26, 26, 8)" in text
    assert "layer 2" not in text and "layer 5" not in text  # knock-on differences
    assert "parameters, expected 4,050" in text


def test_same_padding_without_padding_in_the_spec_is_found_from_the_shapes():
    loose = [spec(s.kind, s.output_shape, s.params, s.activation,
                  **{k: v for k, v in s.config.items() if k != "padding"}) for s in EXPECTED]
    report = compare_layers(cnn(padding="same"), loose)
    assert any("padding='same' keeps the input's size" in p for p in report.problems), report.problems


def test_missing_pooling_layer():
    report = compare_layers(cnn(pool=False), EXPECTED)
    assert report.problems[0].startswith(
        "a MaxPooling2D((2, 2)) layer is missing after layer 0 (Conv2D(8, (3, 3), activation='relu'))")
    assert "not halved" in report.problems[0]


def test_wrong_filter_count():
    report = compare_layers(cnn(filters=4), EXPECTED)
    assert "layer 0 (Conv2D): filters=4, expected filters=8." in report.problems[0]
    assert "number of output channels" in report.problems[0]


def test_extra_layer():
    report = compare_layers(cnn(extra=layers.Dropout(0.2)), EXPECTED)
    assert report.problems[0] == ("layer 5: an extra Dropout(0.2) that the specification does "
                                  "not have.")


def test_input_without_channel_axis():
    model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(),
                              layers.Dense(10, activation="softmax")])
    report = compare_layers(model, EXPECTED, input_shape=(28, 28, 1))
    assert "input shape is (28, 28), expected (28, 28, 1)" in report.problems[0]
    assert "channel axis" in report.problems[0]


def test_unbuilt_model():
    model = keras.Sequential([layers.Conv2D(8, 3, activation="relu"), layers.Flatten(),
                              layers.Dense(10, activation="softmax")])
    report = compare_layers(model, EXPECTED)
    assert "never built" in report.problems[0]


def test_sigmoid_and_logits_outputs_and_missing_relu():
    sigmoid = compare_layers(cnn(out="sigmoid"), EXPECTED)
    assert sigmoid.problems == [
        "layer 6 (Dense): activation 'sigmoid', expected 'softmax': sigmoid scores every class "
        "on its own, so the outputs do not sum to 1; to pick one class out of several use "
        "activation='softmax'."]
    logits = compare_layers(cnn(out=None), EXPECTED)
    assert "outputs logits" in logits.problems[0]
    linear = compare_layers(cnn(conv_act=None), EXPECTED)
    assert "layer 0 (Conv2D): activation 'linear', expected 'relu'" in linear.problems[0]


def test_structure_and_activations_can_be_checked_apart():
    model = cnn(out="sigmoid", padding="same")
    structure = compare_layers(model, EXPECTED, check_activations=False)
    assert not any("sigmoid" in p for p in structure.problems)
    activations = compare_layers(model, EXPECTED, check_structure=False)
    assert len(activations.problems) == 1 and "sigmoid" in activations.problems[0]
    # activations are compared on the layers that line up even when one is missing
    missing = compare_layers(cnn(pool=False, out="sigmoid"), EXPECTED, check_structure=False)
    assert len(missing.problems) == 1 and "layer 5 (Dense)" in missing.problems[0]


def test_check_layers_raises_with_both_tables():
    check_layers(cnn(), EXPECTED)
    with pytest.raises(CheckFailed) as info:
        check_layers(cnn(filters=4), EXPECTED, what="build()", hints={"filters=4": "Read the table."})
    text = str(info.value)
    assert text.startswith("build() differs from the specification:\n- layer 0 (Conv2D): filters=4")
    assert "Read the table." in text
    assert "found:" in text and "expected:" in text and "total parameters: 4,050" in text


# --------------------------------------------------------------------------- compile settings


def test_reference_compile_settings_pass():
    config = compiled(None, optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
    summary = summarize_compile(config)
    assert (summary.optimizer, summary.loss, summary.from_logits) == (
        "adam", "sparse_categorical_crossentropy", False)
    assert summary.metric_keys == ["accuracy"]
    assert summary.learning_rate == pytest.approx(0.001)
    assert compile_problems(config, optimizer="adam", loss="sparse_categorical_crossentropy",
                            metrics=["accuracy"], output_activation="softmax") == []


def test_objects_and_functions_are_understood():
    config = compiled(None, optimizer=keras.optimizers.Adam(),
                      loss=keras.losses.SparseCategoricalCrossentropy(),
                      metrics=[keras.metrics.SparseCategoricalAccuracy()])
    assert compile_problems(config, optimizer="adam", loss="sparse_categorical_crossentropy",
                            metrics=["accuracy"], output_activation="softmax") == []
    function = compiled(None, optimizer="adam", loss=keras.losses.sparse_categorical_crossentropy)
    assert summarize_compile(function).loss == "sparse_categorical_crossentropy"


def test_keras2_positional_metrics():
    config = compiled(None, "adam", "sparse_categorical_crossentropy", ["accuracy"])
    problems = compile_problems(config, optimizer="adam", loss="sparse_categorical_crossentropy",
                                metrics=["accuracy"])
    assert len(problems) == 1
    assert "loss_weights" in problems[0] and "pass metrics=['accuracy'] by keyword" in problems[0]


def test_keras2_acc_and_exact_accuracy_metrics():
    acc = compile_problems(compiled(None, optimizer="adam", loss="sparse_categorical_crossentropy",
                                    metrics=["acc"]), metrics=["accuracy"])
    assert len(acc) == 1 and "key 'acc'" in acc[0] and "Keras 2 habit" in acc[0]
    exact = compile_problems(compiled(None, optimizer="adam", loss="sparse_categorical_crossentropy",
                                      metrics=[keras.metrics.Accuracy()]), metrics=["accuracy"])
    assert len(exact) == 1 and "keras.metrics.Accuracy()" in exact[0]
    none = compile_problems(compiled(None, optimizer="adam", loss="sparse_categorical_crossentropy"),
                            metrics=["accuracy"])
    assert none == ["metrics: expected 'accuracy', found none; write metrics=['accuracy']"]


def test_logits_and_from_logits_mismatches():
    probs_loss = compiled(None, optimizer="adam", loss="sparse_categorical_crossentropy")
    problems = compile_problems(probs_loss, output_activation="linear")
    assert problems and "outputs logits" in problems[0] and "expects probabilities" in problems[0]
    twice = compiled(None, optimizer="adam",
                     loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    problems = compile_problems(twice, output_activation="softmax")
    assert problems and "second time" in problems[0]
    assert compile_problems(twice, output_activation="linear") == []


def test_wrong_optimizer_loss_and_not_compiled():
    config = compiled(None, optimizer="sgd", loss="categorical_crossentropy", metrics=["accuracy"])
    problems = compile_problems(config, optimizer="adam", loss="sparse_categorical_crossentropy")
    assert problems[0] == "optimizer: expected 'adam', found 'sgd'"
    assert "one-hot labels" in problems[1]
    assert "not compiled" in compile_problems(None)[0]
    with pytest.raises(CheckFailed, match="optimizer: expected 'adam'"):
        check_compile(config, optimizer="adam")
    check_compile(config, optimizer="sgd")

"""Correct, written differently: integer arithmetic for the steps, a while loop for the
choices (lists, not tuples), the functional API with activations as separate layers,
tf.keras spellings, optimizer and loss as objects."""
import tensorflow as tf


def steps_per_epoch(n_examples, batch_size):
    return (n_examples + batch_size - 1) // batch_size


def third_pair_choices(size, filters):
    found, k = [], 1
    while (size - k + 1) // 2 >= 1:
        side = (size - k + 1) // 2
        found.append([k, [side, side, filters]])
        k += 1
    return found


def build_lenet(conv_filters=(6, 16), dense_units=(120, 84)):
    inputs = tf.keras.Input(shape=(28, 28, 1))
    x = inputs
    for filters in conv_filters:
        x = tf.keras.layers.Conv2D(filters, 5)(x)
        x = tf.keras.layers.ReLU()(x)
        x = tf.keras.layers.MaxPooling2D(pool_size=(2, 2))(x)
    x = tf.keras.layers.Flatten()(x)
    for units in dense_units:
        x = tf.keras.layers.Dense(units)(x)
        x = tf.keras.layers.Activation("relu")(x)
    outputs = tf.keras.layers.Dense(10, activation=tf.nn.softmax)(x)
    model = tf.keras.Model(inputs=inputs, outputs=outputs, name="lenet")
    model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.001),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(),
                  metrics=["accuracy"])
    return model

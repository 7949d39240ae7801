"""Right, written differently: the callback compares the key with a default below any
threshold, layer_outputs builds an unbuilt model with model.build and calls the activation
model directly (tensors converted to arrays; a lone tensor put in a list)."""
import keras
import numpy as np
from keras import layers


class myCallback(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        if float(logs.get("accuracy", -1.0)) > 0.998:
            print("")
            print("Reached 99.8% accuracy so cancelling training!")
            self.model.stop_training = True


def layer_outputs(model, images):
    try:
        inputs = model.inputs
    except AttributeError:  # a Sequential model that was never built
        model.build((None,) + tuple(images.shape[1:]))
        inputs = model.inputs
    kinds = (layers.Conv2D, layers.MaxPooling2D)
    activation_model = keras.Model(inputs=inputs,
                                   outputs=[layer.output for layer in model.layers if isinstance(layer, kinds)])
    outputs = activation_model(images)
    if not isinstance(outputs, (list, tuple)):  # one layer: one tensor, not a list of one
        return [np.asarray(outputs)]
    return [np.asarray(output) for output in outputs]

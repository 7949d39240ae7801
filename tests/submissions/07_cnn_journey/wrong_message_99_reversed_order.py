"""Wrong on purpose: the message of the 99% exercise ('Reached 99% accuracy...'); layer_outputs
returns the right arrays from the last layer to the first."""
import keras
import numpy as np
import tensorflow as tf
from keras import layers


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("accuracy")
        if accuracy is not None and accuracy > 0.998:
            print("\nReached 99% accuracy so cancelling training!")
            self.model.stop_training = True


def layer_outputs(model, images):
    if not model.built:
        model(images[:1])
    wanted = [layer for layer in model.layers if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D))]
    activation_model = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in reversed(wanted)])
    outputs = activation_model.predict(images, verbose=0)
    return [np.asarray(a) for a in (outputs if len(wanted) > 1 else [outputs])]

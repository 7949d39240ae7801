"""Wrong on purpose: the callback sets self.stop_training (the callback's own attribute,
which Keras never reads); layer_outputs divides the already scaled images by 255 again."""
import keras
import numpy as np
import tensorflow as tf
from keras import layers


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("accuracy")
        if accuracy is not None and accuracy > 0.998:
            print("\nReached 99.8% accuracy so cancelling training!")
            self.stop_training = True


def layer_outputs(model, images):
    images = images / 255.0
    if not model.built:
        model(images[:1])
    wanted = [layer for layer in model.layers if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D))]
    activation_model = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in wanted])
    found = activation_model.predict(images, verbose=0)
    return [np.asarray(a) for a in (found if isinstance(found, list) else [found])]

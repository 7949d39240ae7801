"""Wrong on purpose: layer_outputs returns only the last convolution/pooling layer's output
(the end of the journey), not the list. The callback is right."""
import keras
import tensorflow as tf
from keras import layers


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("accuracy")
        if accuracy is not None and accuracy > 0.998:
            print("\nReached 99.8% accuracy so cancelling training!")
            self.model.stop_training = True


def layer_outputs(model, images):
    if not model.built:
        model(images[:1])
    wanted = [layer for layer in model.layers if isinstance(layer, (layers.Conv2D, layers.MaxPooling2D))]
    return keras.Model(inputs=model.inputs, outputs=wanted[-1].output).predict(images, verbose=0)

"""Wrong on purpose: the lesson's callback as written for Keras 2 (logs.get('accuracy') > 0.998
crashes when the logs hold no accuracy); layer_outputs skips the pooling layers."""
import keras
import numpy as np
import tensorflow as tf
from keras import layers


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        if logs.get("accuracy") > 0.998:
            print("\nReached 99.8% accuracy so cancelling training!")
            self.model.stop_training = True


def layer_outputs(model, images):
    if not model.built:
        model(images[:1])
    convolutions = [layer for layer in model.layers if isinstance(layer, layers.Conv2D)]
    activation_model = keras.Model(inputs=model.inputs, outputs=[layer.output for layer in convolutions])
    outputs = activation_model.predict(images, verbose=0)
    if len(convolutions) == 1:
        outputs = [outputs]
    return [np.asarray(a) for a in outputs]

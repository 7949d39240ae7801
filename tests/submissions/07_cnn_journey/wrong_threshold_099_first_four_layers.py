"""Wrong on purpose: the 99% exercise's threshold (0.99) kept; layer_outputs takes the first
four layers of the model (the lesson's model starts with four convolution/pooling layers)."""
import keras
import numpy as np
import tensorflow as tf


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if logs.get("accuracy", 0) > 0.99:
            print("\nReached 99.8% accuracy so cancelling training!")
            self.model.stop_training = True


def layer_outputs(model, images):
    activation_model = keras.Model(inputs=model.inputs,
                                   outputs=[layer.output for layer in model.layers[:4]])
    return [np.asarray(a) for a in activation_model.predict(images, verbose=0)]

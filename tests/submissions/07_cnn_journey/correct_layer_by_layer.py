"""Right, written differently: the threshold is an argument with the lesson's default, and
layer_outputs passes the images through the layers one by one (no activation model, so an
unbuilt model needs no special case)."""
import tensorflow as tf


class myCallback(tf.keras.callbacks.Callback):
    def __init__(self, threshold=0.998):
        super().__init__()
        self.threshold = threshold

    def on_epoch_end(self, epoch, logs=None):
        if logs and "accuracy" in logs and logs["accuracy"] > self.threshold:
            print("\nReached 99.8% accuracy so cancelling training!")
            self.model.stop_training = True


def layer_outputs(model, images):
    outputs = []
    x = tf.convert_to_tensor(images)
    for layer in model.layers:
        x = layer(x)
        if isinstance(layer, (tf.keras.layers.Conv2D, tf.keras.layers.MaxPooling2D)):
            outputs.append(x.numpy())
    return outputs

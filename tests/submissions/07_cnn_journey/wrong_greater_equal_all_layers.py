"""Wrong on purpose: '>=' where the lesson says above 99.8%; layer_outputs returns every
layer's output (the lesson's activation model), Flatten and Dense included."""
import keras
import tensorflow as tf


class myCallback(tf.keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        accuracy = (logs or {}).get("accuracy")
        if accuracy is not None and accuracy >= 0.998:
            print("\nReached 99.8% accuracy so cancelling training!")
            self.model.stop_training = True


def layer_outputs(model, images):
    activation_model = keras.Model(inputs=model.inputs,
                                   outputs=[layer.output for layer in model.layers])
    return activation_model.predict(images, verbose=0)

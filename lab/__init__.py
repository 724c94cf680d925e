"""CNN Lab: build, train and probe small convolutional networks in Keras."""

__version__ = "0.1.0"

"""Training the models the product ships: the reader (`qa train-reader`)."""

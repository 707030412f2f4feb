"""The training probe (needs the TensorFlow extra): does a finding cost validation score?

Keras is imported only inside the functions that train, never by the lint path.
"""

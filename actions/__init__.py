"""Action server package of the helpline sextortion assistant.

The Rasa action server loads only :mod:`actions.actions` (see the Makefile); every
other module here is plain Python that knows nothing of Rasa and can be imported and
tested on its own.
"""

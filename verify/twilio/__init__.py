"""What the SMS and voice channels share of Twilio: the REST client and how its refusals read
(`client.py`), how many of a process's threads may wait on it at once (`slots.py`), the
callback URLs given to Twilio and read back (`callbacks.py`), and the signature every webhook
must carry (`signatures.py`)."""

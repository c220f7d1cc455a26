"""Gateway keys: who may call the gateway (:mod:`.keys`, :mod:`.keystore`, :mod:`.keyring`) and the admin
API that manages them (:mod:`.admin`)."""

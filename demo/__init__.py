"""``make demo``: a whole backup, list, restore and verify run against loopback stand-in servers."""

"""The HR roster: a CSV or JSON file as an HR system exports it (who works here, their status,
manager, department and dates), and the person-record conventions every identity source shares.

records.py     how an identity source describes a person and a group (`Kind.PERSON` principals)
parse.py       reading and validating the file: one clear error naming file, line and column
connector.py   `[sources.roster]`
"""

"""A new survey repository's files (`surveybib init`): `files` plans and writes them,
`text` renders the packaged templates in templates/."""

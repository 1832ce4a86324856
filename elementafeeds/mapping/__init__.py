"""Mapping assistance for `ef map`: suggestions from the live site and the feed.

A library layer beside `rules`: it reads the site through `destinations`, the feed through
`feeds`, matches with the rules' own category matcher, and returns plain data; only the CLI
prints. Modules:

    service             map_connection(root, name, MapOptions, confirm=, opener=) -> dict
    effective           the connection's effective configuration, even while incomplete
    feed_scan           one streaming pass: columns, sample values, category path counts
    suggest_categories  source paths → site categories (rapidfuzz), coverage, what to create
    suggest_fields      feed columns → destination fields (network names, similarity)
    suggest_attributes  the site's global attributes and terms next to attribute columns
    yaml_edit           merge into the connection's YAML in place; diff; paste snippet
    yaml_splice         carry ruamel's change over to the original text, byte for byte

Nothing is imported here, so importing one module does not load the others.
"""

"""Serializers shared by several API views, one module per area. Each view also nests its
own InputSerializer/OutputSerializer where the shape is its alone."""

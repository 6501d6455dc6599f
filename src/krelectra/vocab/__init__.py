"""Vocabulary stage: Mecab-Ko morphemes -> 30k WordPiece vocabulary -> report."""

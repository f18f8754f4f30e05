"""The evidence sentence filter: commands set as code, everything else escaped."""

from reduction.templatetags.reduction_tags import sentence


def test_backticked_words_become_code_and_the_rest_is_escaped():
    assert sentence("use `aws sso login` on <b>prod</b>") == \
        "use <code>aws sso login</code> on &lt;b&gt;prod&lt;/b&gt;"


def test_an_unpaired_backtick_is_shown_as_it_is():
    assert sentence("a `b` c`d <i>") == "a `b` c`d &lt;i&gt;"


def test_a_backtick_inside_an_aws_name_cannot_open_a_tag():
    assert sentence("`<script>`") == "<code>&lt;script&gt;</code>"

"""The settlement agreement (人民调解协议书) of a case: the structured draft and its
versions, comments, the confirmability check, the signing round and its effect.
Documents, signatures and their verification live in the top-level ``agreements`` package."""

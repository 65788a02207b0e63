# sbc build fragment

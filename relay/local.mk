# relay build fragment
